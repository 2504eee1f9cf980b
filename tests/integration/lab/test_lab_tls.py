"""A TLS lab (`labkit lab up --tls`, labkit/lab/tls) with real clients, each verifying the lab's
certificate against the CA the kit made, never with verification turned off: curl, the AWS
CLI (AWS_CA_BUNDLE from `labkit lab env`), the built-in engine (no system change), skopeo
(`--cert-dir`), and the docker CLI after `labkit lab trust` (then `--undo`). A client without
the CA is refused. Every door serves TLS: the lab's port and a region's port, also after a
restart, which keeps TLS and the CA."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labkit.course import sample
from labkit.engines.builtin import BuiltinEngine
from labkit.engines.report import PULLED, PUSHED
from tests.conftest import forget_images_of, free_port, lab_environ, unique
from tests.integration.lab.labs import aws, labkit

OTHER = "eu-west-1"
# ECR's documented "HTTPS only" repository policy: a TLS lab's requests are aws:SecureTransport
HTTPS_ONLY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "HttpsOnly", "Effect": "Deny", "Principal": "*", "Action": "ecr:*",
    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


@pytest.fixture(scope="module")
def tls_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One TLS lab for the module, in a home of its own, on a free port."""
    from labkit.lab import process

    home = tmp_path_factory.mktemp("tls") / "home"
    lab = process.start(home, port=free_port(), tls=True, tls_hosts=["lab.room.test"])
    try:
        yield lab
    finally:
        registries = [*(process.running(home) or lab).status()["regions"].values()]
        process.stop(home)
        for registry in registries:
            forget_images_of(registry)


@pytest.fixture()
def env(tls_lab: Any, tmp_path: Path) -> dict[str, str]:
    """What `eval "$(labkit lab env)"` gives a learner's shell, with a docker config of its own."""
    return lab_environ(tls_lab, tmp_path / "docker-config")


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", *args],
                          capture_output=True, text=True, timeout=30)


def password(env: dict[str, str], region: str | None = None) -> str:
    return aws(env, "ecr", "get-login-password", *(["--region", region] if region else [])
               ).stdout.strip()


def ecr(lab: Any, region: str | None = None) -> Any:
    """boto3, verifying the lab against its CA (in-process: quicker than the AWS CLI where the
    CLI is not what a test is about)."""
    import boto3

    from labkit import config

    return boto3.client("ecr", endpoint_url=lab.endpoint_url, region_name=region or lab.region,
                        aws_access_key_id=config.LAB_ACCESS_KEY,
                        aws_secret_access_key=config.LAB_SECRET_KEY, verify=str(lab.ca_file))


def login_password(lab: Any, region: str | None = None) -> str:
    from tests.conftest import registry_credentials

    return registry_credentials(ecr(lab, region))[1]


def test_the_lab_says_it_speaks_tls_and_where_its_ca_is(tls_lab: Any, env: dict[str, str]
                                                        ) -> None:
    ca = tls_lab.home / "tls" / "ca.crt"
    assert tls_lab.endpoint_url == f"https://{tls_lab.registry}" and tls_lab.ca_file == ca
    assert tls_lab.status()["tls"] is True  # labkit's admin client verified the lab
    status = labkit(env, "lab", "status", "--home", str(tls_lab.home))
    assert status.returncode == 0 and f"TLS       on: every door serves HTTPS; its CA is {ca}" \
        in status.stdout
    printed = labkit(env, "lab", "env", "--no-start", "--home", str(tls_lab.home)).stdout
    assert f"export AWS_CA_BUNDLE={ca}" in printed
    assert f"export AWS_ENDPOINT_URL=https://{tls_lab.registry}" in printed


def test_a_client_without_the_ca_is_refused(tls_lab: Any) -> None:
    url = f"https://{tls_lab.registry}/v2/"
    refused = curl(url)
    assert refused.returncode == 60, refused.stderr  # curl: peer certificate cannot be verified
    assert "certificate" in refused.stderr
    trusted = curl("--cacert", str(tls_lab.ca_file), url)
    assert trusted.returncode == 0 and trusted.stdout == "401", trusted.stderr
    plain = curl(f"http://{tls_lab.registry}/v2/")
    assert plain.returncode != 0 and plain.stdout == "000"  # no plain HTTP answer at all


def test_aws_cli_verifies_the_lab_with_aws_ca_bundle(tls_lab: Any, env: dict[str, str],
                                                     require_aws_cli: None) -> None:
    name = unique("tls/aws")
    made = json.loads(aws(env, "ecr", "create-repository", "--repository-name", name).stdout)
    assert made["repository"]["repositoryUri"] == f"{tls_lab.registry}/{name}"
    assert len(password(env)) > 100
    token = json.loads(aws(env, "ecr", "get-authorization-token").stdout)
    assert token["authorizationData"][0]["proxyEndpoint"] == f"https://{tls_lab.registry}"
    without = {k: v for k, v in env.items() if k != "AWS_CA_BUNDLE"}
    without["AWS_MAX_ATTEMPTS"] = "1"  # a refused handshake is not retried for seconds
    r = aws(without, "ecr", "describe-repositories", check=False)
    assert r.returncode != 0 and "SSL validation failed" in r.stderr


def test_builtin_engine_pushes_and_pulls_to_every_door(
        tls_lab: Any, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        require_aws_cli: None) -> None:
    monkeypatch.setenv("LABKIT_HOME", str(tls_lab.home))  # as `labkit lab env` sets it
    name = unique("tls/builtin")
    ecr(tls_lab).create_repository(repositoryName=name)
    ecr(tls_lab).set_repository_policy(repositoryName=name, policyText=HTTPS_ONLY)
    other = ecr(tls_lab, OTHER).create_repository(repositoryName=name)["repository"][
        "repositoryUri"]
    other_registry = other.rsplit("/", 1)[0].split("/")[0]
    assert other_registry != tls_lab.registry  # the region's own door
    logins = tmp_path / "logins" / "config.json"
    pusher = BuiltinEngine(home=tmp_path / "pusher", docker_config=logins)
    sample.ensure_base(pusher)
    for registry, region in ((tls_lab.registry, None), (other_registry, OTHER)):
        ref = f"{registry}/{name}:v1"
        pusher.build(sample.context(1), ref)
        assert pusher.login(registry, "AWS", login_password(tls_lab, region)) == \
            "Login Succeeded"
        pushed = pusher.push(ref, progress=False)
        assert {x.status for x in pushed.layers if x.kind == "layer"} == {PUSHED}
        puller = BuiltinEngine(home=tmp_path / f"puller-{region}", docker_config=logins)
        pulled = puller.pull(ref, progress=False)
        assert pulled.digest == pushed.digest
        assert {x.status for x in pulled.layers if x.kind == "layer"} == {PULLED}
        assert any(s.status == 307 for s in pulled.steps)  # to https://.../_storage/, verified
    assert ecr(tls_lab).describe_images(repositoryName=name)["imageDetails"]  # HTTPS_ONLY lets it
    region_door = curl("--cacert", str(tls_lab.ca_file), f"https://{other_registry}/v2/")
    assert region_door.stdout == "401", region_door.stderr


def pushed_by_builtin(lab: Any, env: dict[str, str], tmp_path: Path, name: str) -> Any:
    """hello-app v1 in repository `name` of the lab, pushed by the built-in engine."""
    ecr(lab).create_repository(repositoryName=name)
    engine = BuiltinEngine(home=tmp_path / "engine", docker_config=tmp_path / "l" / "config.json")
    sample.ensure_base(engine)
    engine.build(sample.context(1), f"{lab.registry}/{name}:v1")
    engine.login(lab.registry, "AWS", login_password(lab))
    return engine.push(f"{lab.registry}/{name}:v1", progress=False)


def test_skopeo_verifies_the_lab_with_cert_dir(tls_lab: Any, env: dict[str, str],
                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               require_skopeo: None,
                                               require_aws_cli: None) -> None:
    monkeypatch.setenv("LABKIT_HOME", str(tls_lab.home))
    name, copy = unique("tls/skopeo"), unique("tls/skopeo-copy")
    pushed = pushed_by_builtin(tls_lab, env, tmp_path, name)
    ecr(tls_lab).create_repository(repositoryName=copy)
    creds, certs = f"AWS:{login_password(tls_lab)}", str(tls_lab.home / "tls")
    src, dest = f"docker://{tls_lab.registry}/{name}:v1", f"docker://{tls_lab.registry}/{copy}:v1"

    def skopeo(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120,
                              env=env)

    refused = skopeo("inspect", "--creds", creds, src)  # no CA: refused, not downgraded
    assert refused.returncode != 0 and "certificate signed by unknown authority" in refused.stderr
    seen = skopeo("inspect", "--cert-dir", certs, "--creds", creds, src)
    assert seen.returncode == 0 and json.loads(seen.stdout)["Digest"] == pushed.digest, seen.stderr
    out = tmp_path / "oci"
    for args in (["--src-cert-dir", certs, "--src-creds", creds, src, f"oci:{out}:v1"],
                 ["--dest-cert-dir", certs, "--dest-creds", creds, f"oci:{out}:v1", dest]):
        r = skopeo("copy", *args)
        assert r.returncode == 0, r.stderr
    again = skopeo("inspect", "--cert-dir", certs, "--creds", creds, dest)
    assert again.returncode == 0 and len(json.loads(again.stdout)["Layers"]) == 3, again.stderr


@pytest.mark.docker
def test_docker_cli_after_labkit_lab_trust(tls_lab: Any, env: dict[str, str], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           require_docker: None, require_aws_cli: None) -> None:
    """`labkit lab trust` writes /etc/docker/certs.d/HOST:PORT/ca.crt (root here); docker logs
    in, pulls and pushes over HTTPS; `--undo` removes exactly those files. (docker skips
    verification for 127.0.0.0/8, its default insecure range, so on loopback this shows that
    docker works with a TLS lab; the certs.d file is what a room's LAN address needs.)"""
    monkeypatch.setenv("LABKIT_HOME", str(tls_lab.home))
    home = str(tls_lab.home)
    trusted = labkit(env, "lab", "trust", "--home", home)
    written = Path(f"/etc/docker/certs.d/{tls_lab.registry}/ca.crt")
    name, back = unique("tls/docker"), unique("tls/docker-back")
    ref, ref_back = f"{tls_lab.registry}/{name}:v1", f"{tls_lab.registry}/{back}:v1"
    try:
        assert trusted.returncode == 0, trusted.stderr
        assert f"wrote {written}" in trusted.stdout
        assert written.read_bytes() == tls_lab.ca_file.read_bytes()
        pushed = pushed_by_builtin(tls_lab, env, tmp_path, name)
        ecr(tls_lab).create_repository(repositoryName=back)
        login = subprocess.run(["docker", "login", "--username", "AWS", "--password-stdin",
                                tls_lab.registry], input=login_password(tls_lab), env=env,
                               capture_output=True, text=True, timeout=60)
        assert login.returncode == 0 and "Login Succeeded" in login.stdout, login.stderr
        outs = []
        for args in (["pull", ref], ["tag", ref, ref_back], ["push", ref_back],
                     ["rmi", ref_back], ["pull", ref_back]):
            r = subprocess.run(["docker", *args], env=env, capture_output=True, text=True,
                               timeout=120)
            assert r.returncode == 0, f"docker {' '.join(args)}: {r.stderr}"
            outs.append(r.stdout)
        assert f"Digest: {pushed.digest}" in outs[0]  # what the built-in engine pushed
        assert "Pushed" in outs[2] and "Downloaded newer image" in outs[4]
    finally:
        subprocess.run(["docker", "rmi", "-f", ref, ref_back], capture_output=True, env=env,
                       timeout=60)
        undone = labkit(env, "lab", "trust", "--undo", "--home", home)
    assert undone.returncode == 0 and f"removed {written}" in undone.stdout
    assert not written.exists() and not written.parent.exists()


def test_a_restart_keeps_tls_its_ca_and_its_region_doors(tmp_path: Path) -> None:
    from labkit.lab import process

    home, port = tmp_path / "home", free_port()
    lab = process.start(home, port=port, tls=True)
    try:
        other = ecr(lab, OTHER).create_repository(repositoryName="kept")["repository"][
            "repositoryUri"]
        ca = lab.ca_file.read_bytes()
        process.stop(home)
        again = process.start(home, port=port)  # no tls= : the home's choice
        assert again.tls and again.ca_file.read_bytes() == ca
        door = curl("--cacert", str(again.ca_file), f"https://{other.split('/')[0]}/v2/")
        assert door.stdout == "401", door.stderr  # the region's door, reopened, with TLS
        process.stop(home)
        plain = process.start(home, port=port, tls=False)
        assert not plain.tls and plain.endpoint_url == f"http://127.0.0.1:{port}"
        assert plain.status()["tls"] is False
    finally:
        process.stop(home)
