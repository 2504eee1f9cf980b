"""Who may do what, against a running lab, with the real clients: the AWS CLI makes an identity
with a limited policy, and that identity's docker push is refused with ECR's sentence while its
pull works; skopeo likewise; boto3 sees ECR's authentication errors and AccessDeniedException;
a repository policy grants a principal that has no identity policy for the repository.

Expected sentences are rendered from tests/fixtures/ecr_messages_access.json (each with its
source), never written here.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import lab_environ, unique
from tests.integration.lab.test_lab_seed_flow import sh

pytestmark = pytest.mark.docker

ACCESS = {e["key"]: e for e in json.loads(
    (Path(__file__).parents[2] / "fixtures" / "ecr_messages_access.json").read_text())}
PULL_ONLY = ["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability",
             "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "ecr:DescribeImages"]


def message(key: str, **values: str) -> str:
    return ACCESS[key]["message"].format(**values)


@dataclass
class Identity:
    name: str
    arn: str
    env: dict[str, str]  # the lab's exports with this identity's keys and its own docker config

    def boto3(self, service: str, lab: Any) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=lab.endpoint_url, region_name=lab.region,
                            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"])

    def login(self, lab: Any) -> subprocess.CompletedProcess[str]:
        return sh(f"aws ecr get-login-password --region {lab.region} | "
                  f"docker login --username AWS --password-stdin {lab.registry}", self.env)

    def password(self, lab: Any) -> str:
        token = self.boto3("ecr", lab).get_authorization_token()["authorizationData"][0]
        return base64.b64decode(token["authorizationToken"]).decode().partition(":")[2]


def make_user(lab: Any, admin_env: dict[str, str], tmp: Path, actions: list[str] | None
              ) -> Identity:
    """`aws iam create-user`, `put-user-policy` (when actions are given), `create-access-key`:
    what a learner types, as the lab's default administrator."""
    name = unique("user")
    made = json.loads(sh(f"aws iam create-user --user-name {name}", admin_env).stdout)
    if actions is not None:
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": actions, "Resource": "*"}]}
        sh(f"aws iam put-user-policy --user-name {name} --policy-name limited "
           f"--policy-document '{json.dumps(policy)}'", admin_env)
    key = json.loads(sh(f"aws iam create-access-key --user-name {name}", admin_env).stdout)
    env = dict(admin_env)
    env.update(AWS_ACCESS_KEY_ID=key["AccessKey"]["AccessKeyId"],
               AWS_SECRET_ACCESS_KEY=key["AccessKey"]["SecretAccessKey"],
               DOCKER_CONFIG=str(tmp / f"docker-{name}"))
    return Identity(name, made["User"]["Arn"], env)


@pytest.fixture(scope="module")
def world(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A repository with an image the administrator pushed; a pull-only user; a user with no
    ECR permission but GetAuthorizationToken (the repository policy test grants it)."""
    tmp = tmp_path_factory.mktemp("permissions")
    admin = lab_environ(lab, tmp / "docker-admin")
    admin["DOCKER_BUILDKIT"] = "0"
    repo = unique("perm")
    sh(f"aws ecr create-repository --repository-name {repo}", admin)
    sh(f"aws ecr get-login-password --region {lab.region} | "
       f"docker login --username AWS --password-stdin {lab.registry}", admin)
    image = build(tmp / "v1", "version one", admin)
    sh(f"docker tag {image} {lab.registry}/{repo}:v1 && docker push {lab.registry}/{repo}:v1",
       admin)
    reader = make_user(lab, admin, tmp, PULL_ONLY)
    outsider = make_user(lab, admin, tmp, ["ecr:GetAuthorizationToken"])
    return {"tmp": tmp, "admin": admin, "repo": repo, "reader": reader, "outsider": outsider}


def build(root: Path, text: str, env: dict[str, str]) -> str:
    """A one-layer image from scratch (unique content: its layer is new to every registry)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "f.txt").write_text(f"{text} {root}\n" * 100)
    (root / "Dockerfile").write_text("FROM scratch\nCOPY f.txt /f.txt\n")
    return sh(f"docker build -q {root}", env).stdout.strip()


def denied_sentence(lab: Any, who: Identity, action: str, repo: str) -> str:
    return message("deny_no_identity_policy", principal=who.arn, action=action,
                   resource=f"arn:aws:ecr:{lab.region}:{lab.account_id}:repository/{repo}")


def test_pull_only_user_pulls_and_its_docker_push_is_denied_with_ecrs_sentence(
        lab: Any, world: dict[str, Any], require_docker: None, require_aws_cli: None) -> None:
    reader: Identity = world["reader"]
    repo = world["repo"]
    assert reader.arn == f"arn:aws:iam::{lab.account_id}:user/{reader.name}"
    reader.login(lab)
    sh(f"docker rmi -f {lab.registry}/{repo}:v1", reader.env, check=False)
    pulled = sh(f"docker pull {lab.registry}/{repo}:v1", reader.env)
    assert "Downloaded newer image" in pulled.stdout or "up to date" in pulled.stdout
    image = build(world["tmp"] / "reader-v2", "pushed by the reader", reader.env)
    sh(f"docker tag {image} {lab.registry}/{repo}:v2", reader.env)
    push = sh(f"docker push {lab.registry}/{repo}:v2", reader.env, check=False)
    assert push.returncode != 0
    expected = "denied: " + denied_sentence(lab, reader, "ecr:InitiateLayerUpload", repo)
    assert push.stderr.strip().splitlines()[-1] == expected, push.stderr
    # the lab refused it before anything was written: the API sees no v2
    tags = json.loads(sh(f"aws ecr list-images --repository-name {repo}", world["admin"]).stdout)
    assert "v2" not in {i.get("imageTag") for i in tags["imageIds"]}
    # the same push by the administrator works (the default learner may do everything)
    sh(f"docker tag {image} {lab.registry}/{repo}:v2 && docker push {lab.registry}/{repo}:v2",
       world["admin"])


def test_skopeo_pulls_as_the_reader_and_is_denied_a_push(
        lab: Any, world: dict[str, Any], require_skopeo: None) -> None:
    reader: Identity = world["reader"]
    repo = world["repo"]
    creds = f"AWS:{reader.password(lab)}"
    out = world["tmp"] / unique("skopeo")
    sh(f"skopeo copy --src-tls-verify=false --src-creds '{creds}' "
       f"docker://{lab.registry}/{repo}:v1 oci:{out}:v1", reader.env)
    assert (out / "index.json").exists()
    target = unique("skopeo-copy")
    refused = sh(f"skopeo copy --dest-tls-verify=false --dest-creds '{creds}' "
                 f"oci:{out}:v1 docker://{lab.registry}/{repo}:{target}", reader.env,
                 check=False)
    assert refused.returncode != 0
    # skopeo reports the registry's error (its code, lower-case, then ECR's message)
    action = "ecr:InitiateLayerUpload" if "InitiateLayerUpload" in refused.stderr \
        else "ecr:PutImage"  # the layers exist already: skopeo only puts the manifest
    assert "denied: " + denied_sentence(lab, reader, action, repo) in refused.stderr, \
        refused.stderr


def test_unsigned_garbled_and_wrong_secret_requests_get_ecrs_codes(lab: Any) -> None:
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config
    from botocore.exceptions import ClientError

    from labkit import config

    def error_of(**kwargs: Any) -> tuple[str, str]:
        client = boto3.client("ecr", endpoint_url=lab.endpoint_url, region_name=lab.region,
                              **kwargs)
        with pytest.raises(ClientError) as e:
            client.describe_repositories()
        err = e.value.response["Error"]
        return err["Code"], err["Message"]

    def entry(key: str) -> tuple[str, str]:
        return ACCESS[key]["codes"]["json"], ACCESS[key]["message"]

    assert error_of(config=Config(signature_version=UNSIGNED)) == entry("missing_token")
    assert error_of(aws_access_key_id=config.LAB_ACCESS_KEY,
                    aws_secret_access_key="not-the-secret") == entry("invalid_signature")
    assert error_of(aws_access_key_id="AKIANOSUCHKEY0000000",
                    aws_secret_access_key="whatever") == entry("unrecognized_client")

    # a garbled Authorization header, sent by hand (no SDK sends one): still ECR's JSON error
    import requests

    r = requests.post(lab.endpoint_url + "/", data="{}", timeout=10, headers={
        "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
        "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 garbage"})
    assert r.status_code in (400, 403), r.text
    assert r.json()["__type"] in {v["codes"]["json"] for v in ACCESS.values()
                                  if v["kind"] == "authentication"}, r.text


# (method, arguments, allowed for the pull-only user?)
CASES: list[tuple[str, Callable[[str], dict[str, Any]], bool]] = [
    ("batch_get_image", lambda r: {"repositoryName": r, "imageIds": [{"imageTag": "v1"}]}, True),
    ("describe_images", lambda r: {"repositoryName": r}, True),
    ("batch_check_layer_availability",
     lambda r: {"repositoryName": r, "layerDigests": ["sha256:" + "0" * 64]}, True),
    ("get_authorization_token", lambda r: {}, True),
    ("list_images", lambda r: {"repositoryName": r}, False),
    ("initiate_layer_upload", lambda r: {"repositoryName": r}, False),
    ("put_image", lambda r: {"repositoryName": r, "imageTag": "x", "imageManifest": "{}"},
     False),
    ("delete_repository", lambda r: {"repositoryName": r, "force": True}, False),
    ("set_repository_policy", lambda r: {"repositoryName": r, "policyText": "{}"}, False),
    ("describe_repositories", lambda r: {}, False),
]


@pytest.mark.parametrize("method,args,allowed", CASES, ids=[c[0] for c in CASES])
def test_pull_only_user_api_actions(lab: Any, world: dict[str, Any], method: str,
                                    args: Callable[[str], dict[str, Any]],
                                    allowed: bool) -> None:
    from botocore.exceptions import ClientError

    reader: Identity = world["reader"]
    repo = world["repo"]
    client = reader.boto3("ecr", lab)
    operation = "".join(p.title() for p in method.split("_"))
    if allowed:
        getattr(client, method)(**args(repo))
        return
    with pytest.raises(ClientError) as e:
        getattr(client, method)(**args(repo))
    resource = "*" if method == "describe_repositories" else repo
    resource_arn = f"arn:aws:ecr:{lab.region}:{lab.account_id}:repository/{resource}"
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    assert e.value.response["Error"]["Message"] == message(
        "deny_no_identity_policy", principal=reader.arn, action=f"ecr:{operation}",
        resource=resource_arn)


def test_aws_cli_prints_the_denial(lab: Any, world: dict[str, Any],
                                   require_aws_cli: None) -> None:
    reader: Identity = world["reader"]
    r = sh(f"aws ecr list-images --repository-name {world['repo']}", reader.env, check=False)
    assert r.returncode != 0
    sentence = denied_sentence(lab, reader, "ecr:ListImages", world["repo"])
    assert r.stderr.strip().splitlines()[-1] == (
        f"An error occurred (AccessDeniedException) when calling the ListImages operation: "
        f"{sentence}")
    who = json.loads(sh("aws sts get-caller-identity", reader.env).stdout)
    assert who["Arn"] == reader.arn and who["Account"] == lab.account_id


def test_a_repository_policy_grants_another_principal(
        lab: Any, world: dict[str, Any], require_docker: None, require_aws_cli: None) -> None:
    outsider: Identity = world["outsider"]
    repo = world["repo"]
    outsider.login(lab)
    refused = sh(f"docker pull {lab.registry}/{repo}:v1", outsider.env, check=False)
    assert refused.returncode != 0
    assert denied_sentence(lab, outsider, "ecr:BatchGetImage", repo) in refused.stderr
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "outsider-pulls", "Effect": "Allow", "Principal": {"AWS": outsider.arn},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                   "ecr:BatchCheckLayerAvailability"]}]}
    sh(f"aws ecr set-repository-policy --repository-name {repo} "
       f"--policy-text '{json.dumps(policy)}'", world["admin"])
    try:
        sh(f"docker rmi -f {lab.registry}/{repo}:v1", outsider.env, check=False)
        sh(f"docker pull {lab.registry}/{repo}:v1", outsider.env)
        # the grant is for pulls: a push is still refused, and another repository stays closed
        image = build(world["tmp"] / "outsider", "pushed by the outsider", outsider.env)
        sh(f"docker tag {image} {lab.registry}/{repo}:outsider", outsider.env)
        push = sh(f"docker push {lab.registry}/{repo}:outsider", outsider.env, check=False)
        assert push.returncode != 0
        assert denied_sentence(lab, outsider, "ecr:InitiateLayerUpload", repo) in push.stderr
    finally:
        sh(f"aws ecr delete-repository-policy --repository-name {repo}", world["admin"])
    again = sh(f"docker pull {lab.registry}/{repo}:v1", outsider.env, check=False)
    # docker has the image now; a pull asks for the manifest again and is refused
    assert again.returncode != 0 and "ecr:BatchGetImage" in again.stderr


def test_a_token_from_another_region_is_refused(lab: Any, world: dict[str, Any],
                                                require_docker: None,
                                                require_aws_cli: None) -> None:
    """The token records the region its GetAuthorizationToken was signed for; the lab's
    registry (its own region) refuses another region's: docker login gets 400 (aws-cli#5317),
    a registry request ECR's DENIED sentence (fixture: registry_token_expired)."""
    import requests

    other = "eu-west-1" if lab.region != "eu-west-1" else "eu-central-1"
    env = dict(world["admin"], DOCKER_CONFIG=str(world["tmp"] / "docker-other-region"))
    login = sh(f"aws ecr get-login-password --region {other} | "
               f"docker login --username AWS --password-stdin {lab.registry}", env, check=False)
    assert login.returncode != 0
    assert "400 Bad Request" in login.stderr, login.stderr
    password = sh(f"aws ecr get-login-password --region {other}", env).stdout.strip()
    r = requests.get(f"{lab.endpoint_url}/v2/{world['repo']}/tags/list",
                     auth=("AWS", password), timeout=10)
    assert r.status_code == 403
    assert r.json() == {"errors": [{"code": "DENIED",
                                    "message": ACCESS["registry_token_expired"]["message"]}]}
    # the same command for the lab's region logs in
    sh(f"aws ecr get-login-password --region {lab.region} | "
       f"docker login --username AWS --password-stdin {lab.registry}", env)
