"""`labkit explain` after the real docker CLI and after the built-in engine's `docker`, against a
running lab: each case a learner meets, typed as in a terminal, then explained from the lab's
trace. The same bash commands run with either `docker` first on PATH."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labkit.engines.shim import write_shim
from tests.conftest import ShortTokens, docker_answers, lab_environ, need, unique

ENGINES = ["docker", "builtin"]


class Terminal:
    """A learner's shell after `eval "$(labkit lab env)"`, with one engine's `docker`."""

    def __init__(self, lab: Any, engine: str, tmp: Path):
        self.lab, self.engine = lab, engine
        self.env = lab_environ(lab, tmp / "docker-config")
        path = [str(Path(sys.executable).parent)]
        if engine == "builtin":
            path.insert(0, str(write_shim(tmp / "bin", tmp / "engine")))
        self.env.update(DOCKER_BUILDKIT="0", PATH=os.pathsep.join([*path, self.env["PATH"]]))
        self.reg = lab.registry
        self.tmp = tmp

    def sh(self, script: str, ok: bool | None = True) -> subprocess.CompletedProcess[str]:
        r = subprocess.run(["bash", "-c", script], env=self.env, capture_output=True, text=True,
                           timeout=300)
        if ok is not None:
            assert (r.returncode == 0) == ok, f"{script}\n{r.stdout}\n{r.stderr}"
        return r

    def explain(self, *args: str) -> dict[str, Any]:
        r = subprocess.run([sys.executable, "-m", "labkit", "explain", "--home",
                            str(self.lab.home), "--json", *args], env=self.env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
        return dict(json.loads(r.stdout))

    def text(self, *args: str) -> str:
        r = subprocess.run([sys.executable, "-m", "labkit", "explain", "--home",
                            str(self.lab.home), *args], env=self.env, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def mark(self) -> str:
        return str(self.lab.trace_mark())

    def login(self, host: str | None = None) -> None:
        self.sh(f"aws ecr get-login-password | docker login -u AWS --password-stdin "
                f"{host or self.reg} >/dev/null 2>&1")

    def image(self, name: str, content: str) -> str:
        """A one-layer image FROM scratch (either engine builds it, no base needed)."""
        ctx = self.tmp / f"ctx-{name.replace(':', '-').replace('/', '-')}"
        ctx.mkdir(parents=True, exist_ok=True)
        (ctx / "Dockerfile").write_text("FROM scratch\nCOPY data.txt /data.txt\n")
        # the image's own name in its content: on a Docker Engine shared by parallel tests, two
        # identical builds would share one image id (a cache hit), and one test's `docker rmi`
        # removed the image the other's build was still using ("unable to find image")
        (ctx / "data.txt").write_text(f"{content}\n{name}\n")
        self.sh(f"docker build -q -t {name} {ctx} >/dev/null")
        return name


@pytest.fixture(params=ENGINES)
def term(request: pytest.FixtureRequest, lab: Any, tmp_path: Path) -> Iterator[Terminal]:
    if request.param == "docker":
        need(docker_answers(), "no Docker Engine answers")
    yield Terminal(lab, request.param, tmp_path)


def test_not_logged_in_then_logged_in_to_another_host(term: Terminal) -> None:
    repo = unique("explain-login")
    term.sh(f"aws ecr create-repository --repository-name {repo} >/dev/null")
    term.image(f"{term.reg}/{repo}:v1", "login")
    mark = term.mark()
    r = term.sh(f"docker push {term.reg}/{repo}:v1", ok=False)
    assert "no basic auth credentials" in r.stderr
    doc = term.explain("--since", mark)
    assert doc["case"] == "not-logged-in" and "holds no registry login at all" in doc["why"][0]
    assert doc["fix"].endswith(f"docker login --username AWS --password-stdin {term.reg}")
    assert doc["failure"]["client"] == ("docker" if term.engine == "docker"
                                        else "labkit (builtin engine)")

    other = term.reg.replace("127.0.0.1", "localhost")  # the same lab, by another name
    term.login(other)
    mark = term.mark()
    term.sh(f"docker push {term.reg}/{repo}:v1", ok=False)
    doc = term.explain("--since", mark)
    assert doc["case"] == "not-logged-in"
    assert f"docker has no login for {term.reg}: its config holds logins for {other} only" \
        in doc["why"][0]
    # the fix works: log in as it says, push again
    term.sh(doc["fix"].replace("aws ecr get-login-password --region us-east-1",
                               "aws ecr get-login-password") + " >/dev/null 2>&1")
    term.sh(f"docker push {term.reg}/{repo}:v1 >/dev/null")


def test_an_expired_token(term: Terminal) -> None:
    repo = unique("explain-expired")
    term.sh(f"aws ecr create-repository --repository-name {repo} >/dev/null")
    term.image(f"{term.reg}/{repo}:v1", "expired")
    with ShortTokens(term.lab) as tokens:
        term.login()
        tokens.expire()
        mark = term.mark()
        r = term.sh(f"docker push {term.reg}/{repo}:v1", ok=False)
        assert "Your authorization token has expired" in r.stdout + r.stderr
        doc = term.explain("--since", mark)
    assert doc["case"] == "expired"
    assert doc["answered"] == ("403 DENIED: Your authorization token has expired. "
                               "Reauthenticate and try again.")
    facts = doc["failure"]["facts"]
    assert facts["token_lifetime"] == int(ShortTokens.TTL) and facts["token_issued"] > 0
    assert f"for {int(ShortTokens.TTL)} s (ECR's tokens last 12 h)" in doc["why"][0]
    assert doc["fix"].endswith(f"--password-stdin {term.reg}")


def test_the_next_morning_on_the_token_clock(term: Terminal) -> None:
    """Notebook 08's expired login: `labkit lab clock advance 13h --tokens` makes today's login
    tomorrow morning's for the lab's tokens only. docker's next push is refused with ECR's
    sentence; the AWS CLI still works (its signatures are judged by the wall clock); the lab
    clock (image ages) did not move; the explanation says the token clock was moved; its fix
    works, and keeps working when the token clock goes back."""
    repo = unique("explain-morning")
    home = f"--home {term.lab.home}"
    term.sh(f"aws ecr create-repository --repository-name {repo} >/dev/null")
    term.image(f"{term.reg}/{repo}:v1", "morning")
    term.login()
    term.sh(f"docker push {term.reg}/{repo}:v1 >/dev/null")
    try:
        out = term.sh(f"labkit lab clock advance 13h --tokens {home}").stdout
        assert out.startswith("token clock: ") and "(13h 0m ahead of the wall clock)" in out, out
        mark = term.mark()
        r = term.sh(f"docker push {term.reg}/{repo}:v1", ok=False)
        assert "Your authorization token has expired. Reauthenticate and try again." in \
            r.stdout + r.stderr
        term.sh(f"aws ecr describe-repositories --repository-names {repo} >/dev/null")
        assert "(0s ahead of the wall clock)" in term.sh(f"labkit lab clock show {home}").stdout
        doc = term.explain("--since", mark)
        assert doc["case"] == "expired"
        assert doc["why"][1] == ("(the lab's token clock runs 13 h ahead of this machine's: "
                                 "`labkit lab clock advance --tokens` moved it)")
        term.sh(doc["fix"].replace("aws ecr get-login-password --region us-east-1",
                                   "aws ecr get-login-password") + " >/dev/null 2>&1")
        term.sh(f"docker push {term.reg}/{repo}:v1 >/dev/null")
    finally:
        out = term.sh(f"labkit lab clock reset --tokens {home}").stdout
    assert "(0s ahead of the wall clock)" in out
    term.sh(f"docker push {term.reg}/{repo}:v1 >/dev/null")  # the morning's login still works


def test_a_pull_only_user_is_denied_a_push_and_the_printed_policy_fixes_it(
        term: Terminal) -> None:
    """A CI user that may only pull (aws iam, as a learner types it) logs in with its own keys
    and pushes: ECR's access-denied sentence; the explanation names the user, the action and
    the repository and prints the put-user-policy that grants the push; run as printed (by the
    learner's default identity), the CI user's next push works without a new login."""
    repo, user = unique("explain-iam"), unique("ci")
    term.login()
    term.sh(f"aws ecr create-repository --repository-name {repo} >/dev/null")
    pull_only = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Resource": "*", "Action": [
            "ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
            "ecr:BatchCheckLayerAvailability"]}]})
    term.sh(f"aws iam create-user --user-name {user} >/dev/null && aws iam put-user-policy "
            f"--user-name {user} --policy-name pull-only --policy-document '{pull_only}'")
    key = json.loads(term.sh(f"aws iam create-access-key --user-name {user}").stdout)
    ci = (f"AWS_ACCESS_KEY_ID={key['AccessKey']['AccessKeyId']} "
          f"AWS_SECRET_ACCESS_KEY={key['AccessKey']['SecretAccessKey']}")
    term.sh(f"{ci} aws ecr get-login-password --region us-east-1 | docker login --username AWS "
            f"--password-stdin {term.reg} >/dev/null 2>&1")
    term.image(f"{term.reg}/{repo}:v1", "ci push")
    mark = term.mark()
    r = term.sh(f"docker push {term.reg}/{repo}:v1", ok=False)
    arn = f"arn:aws:iam::{term.lab.account_id}:user/{user}"
    resource = f"arn:aws:ecr:us-east-1:{term.lab.account_id}:repository/{repo}"
    sentence = (f"User: {arn} is not authorized to perform: ecr:InitiateLayerUpload on resource: "
                f"{resource} because no identity-based policy allows the "
                "ecr:InitiateLayerUpload action")
    assert sentence in r.stdout + r.stderr
    doc = term.explain("--since", mark)
    assert doc["case"] == "access-denied" and doc["failure"]["principal"] == arn
    assert doc["summary"] == f"a push to {repo} by {user}"
    assert doc["answered"] == f"403 DENIED: {sentence}"
    assert f"you are logged in as {user} ({arn})" in doc["why"][0]
    assert "logging in again changes nothing" in doc["why"][1]
    assert f"ecr:InitiateLayerUpload on the repository {repo}" in doc["why"][0]
    assert doc["fix"].startswith(f"aws iam put-user-policy --user-name {user} --policy-name "
                                 "ecr-push --policy-document '")
    granted = json.loads(doc["fix"].split("--policy-document ", 1)[1].strip("'"))
    assert granted["Statement"][0]["Resource"] == resource
    assert set(granted["Statement"][0]["Action"]) == {
        "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload",
        "ecr:PutImage", "ecr:BatchCheckLayerAvailability"}
    assert "docker login" not in doc["fix"]
    term.sh(doc["fix"])  # as printed, by the learner's default identity
    term.sh(f"docker push {term.reg}/{repo}:v1 >/dev/null")  # the same login, now allowed


def test_a_token_from_another_region(term: Terminal) -> None:
    """`get-login-password --region eu-west-1` for the lab's (us-east-1) registry: docker login
    is refused (400); the explanation names both regions and prints the lab's region's login."""
    mark = term.mark()
    r = term.sh("aws ecr get-login-password --region eu-west-1 | docker login --username AWS "
                f"--password-stdin {term.reg}", ok=False)
    said = r.stdout + r.stderr  # both engines print docker's words: the status only
    assert f"login attempt to http://{term.reg}/v2/ failed with status: 400 Bad Request" in said, \
        said
    doc = term.explain("--since", mark)
    assert doc["case"] == "wrong-region" and doc["summary"] == "a login with another region's token"
    assert doc["failure"]["facts"] == {"authorization": "wrong-region", "token_region": "eu-west-1"}
    assert doc["why"][0] == ("the password is a token for eu-west-1 (get-login-password --region "
                             "eu-west-1); this registry is us-east-1's")
    assert doc["fix"] == ("aws ecr get-login-password --region us-east-1 | docker login "
                          f"--username AWS --password-stdin {term.reg}")
    term.sh(doc["fix"] + " >/dev/null 2>&1")  # as printed
    repo = unique("explain-region")
    term.sh(f"aws ecr create-repository --repository-name {repo} >/dev/null")
    term.image(f"{term.reg}/{repo}:v1", "region")
    term.sh(f"docker push {term.reg}/{repo}:v1 >/dev/null")


def test_a_missing_and_a_misspelled_repository(term: Terminal) -> None:
    repo = unique("nx")  # short: no other test's repository is a near miss of it
    term.login()
    term.image(f"{term.reg}/{repo}:v1", "repo")
    mark = term.mark()
    r = term.sh(f"docker push {term.reg}/{repo}:v1", ok=False)
    assert "name unknown" in r.stderr
    doc = term.explain("--since", mark)
    assert doc["case"] == "no-repository" and doc["summary"] == f"a push to {repo}"
    assert doc["fix"] == f"aws ecr create-repository --repository-name {repo}"
    term.sh(doc["fix"] + " >/dev/null")  # the fix, as printed
    term.sh(f"docker push {term.reg}/{repo}:v1 >/dev/null")

    typo = repo[:-1]
    mark = term.mark()
    r = term.sh(f"docker pull {term.reg}/{typo}:v1", ok=False)
    assert "name unknown" in r.stderr
    doc = term.explain("--since", mark)
    assert doc["case"] == "misspelled-repository" and doc["suggestion"] == repo
    assert f"did you mean `{repo}`?" in doc["why"][0]
    assert doc["fix"] == f"docker pull {term.reg}/{repo}:v1"
    term.sh(doc["fix"] + " >/dev/null")
    text = term.text("--since", mark)
    assert text.startswith(f"labkit explain: the lab refused a pull of {typo}:v1\n")
    assert f"  fix       docker pull {term.reg}/{repo}:v1" in text


def test_an_immutable_tag(term: Terminal) -> None:
    repo = unique("explain-imm")
    term.login()
    term.sh(f"aws ecr create-repository --repository-name {repo} --image-tag-mutability "
            "IMMUTABLE >/dev/null")
    term.image(f"{term.reg}/{repo}:v1", "first")
    term.sh(f"docker push {term.reg}/{repo}:v1 >/dev/null")
    term.sh(f"docker image rm {term.reg}/{repo}:v1 >/dev/null", ok=None)
    term.image(f"{term.reg}/{repo}:v1", "second")
    mark = term.mark()
    r = term.sh(f"docker push {term.reg}/{repo}:v1", ok=False)
    assert "tag invalid" in r.stderr
    doc = term.explain("--since", mark)
    assert doc["case"] == "immutable-tag"
    new = f"{term.reg}/{repo}:v2"
    assert doc["fix"] == f"docker tag {term.reg}/{repo}:v1 {new} && docker push {new}"
    assert "MUTABLE" not in doc["fix"]
    term.sh(doc["fix"] + " >/dev/null")  # the fix works as printed


def test_a_missing_tag_lists_the_tags(term: Terminal) -> None:
    repo = unique("explain-tag")
    term.login()
    term.sh(f"aws ecr create-repository --repository-name {repo} >/dev/null")
    for tag in ("v1", "v2"):
        term.image(f"{term.reg}/{repo}:{tag}", tag)
        term.sh(f"docker push {term.reg}/{repo}:{tag} >/dev/null")
    mark = term.mark()
    r = term.sh(f"docker pull {term.reg}/{repo}:v3", ok=False)
    assert "manifest unknown" in r.stderr
    doc = term.explain("--since", mark)
    assert doc["case"] == "missing-tag"
    assert doc["why"][0] == f"{repo} has no tag v3; the tags it holds: v1, v2; did you mean `v1`?" \
        or doc["why"][0].startswith(f"{repo} has no tag v3; the tags it holds: v1, v2")
    term.sh(doc["fix"] + " >/dev/null")


def test_a_manifest_whose_layers_were_never_pushed(lab: Any, tmp_path: Path) -> None:
    """Not something docker does (it pushes the layers first): a manifest sent alone, with curl."""
    term = Terminal(lab, "builtin", tmp_path)
    repo = unique("explain-layers")
    term.sh(f"aws ecr create-repository --repository-name {repo} >/dev/null")
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
                   "digest": "sha256:" + "c" * 64},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 3,
                    "digest": "sha256:" + "d" * 64}]})
    (tmp_path / "manifest.json").write_text(manifest)
    mark = term.mark()
    term.sh(f"curl -sf -u AWS:$(aws ecr get-login-password) -X PUT -H 'Content-Type: "
            f"application/vnd.docker.distribution.manifest.v2+json' --data-binary "
            f"@{tmp_path}/manifest.json http://{term.reg}/v2/{repo}/manifests/broken", ok=False)
    doc = term.explain("--since", mark)
    assert doc["case"] == "missing-layers" and "names 2 blob(s)" in doc["why"][0]
    assert doc["fix"] == f"docker push {term.reg}/{repo}:broken"


def test_after_the_aws_cli_and_boto3(lab: Any, tmp_path: Path) -> None:
    term = Terminal(lab, "builtin", tmp_path)
    repo = unique("explain-api")
    term.sh(f"aws ecr create-repository --repository-name {repo} >/dev/null")
    mark = term.mark()
    term.sh(f"aws ecr describe-images --repository-name {repo}x", ok=False)
    doc = term.explain("--since", mark)
    assert doc["failure"]["client"] == "aws-cli" and doc["case"] == "misspelled-repository"
    assert doc["fix"] == f"aws ecr describe-repositories --repository-names {repo}"
    mark = term.mark()
    term.sh(f"{sys.executable} -c \"import boto3; boto3.client('ecr').describe_images("
            f"repositoryName='{repo}', imageIds=[{{'imageTag': 'nope'}}])\" 2>/dev/null", ok=False)
    doc = term.explain("--since", mark)
    assert doc["failure"]["client"] == "boto3" and doc["case"] == "missing-tag"


def test_nothing_refused_says_so(lab: Any, tmp_path: Path) -> None:
    term = Terminal(lab, "builtin", tmp_path)
    mark = term.mark()
    assert term.explain("--since", mark) == {"refused": False}
    assert "the lab refused nothing since mark" in term.text("--since", mark)
