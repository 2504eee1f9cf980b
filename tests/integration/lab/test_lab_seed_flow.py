"""The learner's note, end to end, with the real AWS CLI and the real docker CLI against the lab."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import lab_environ, unique
from tests.fixtures.ecr_messages import assert_ecr_message

pytestmark = pytest.mark.docker


def sh(cmd: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], env=env, capture_output=True,
                       text=True, timeout=300)
    if check and r.returncode != 0:
        raise AssertionError(f"{cmd!r} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


@pytest.fixture()
def docker_env(lab, tmp_path) -> dict[str, str]:
    """The lab's exports, a private DOCKER_CONFIG, and docker's classic builder."""
    env = lab_environ(lab, tmp_path / "docker-config")
    env["DOCKER_BUILDKIT"] = "0"
    return env


def last_line(text: str) -> str:
    """The CLI's error: the last line it wrote to stderr."""
    return text.strip().splitlines()[-1].strip() if text.strip() else ""


def docker_login(lab, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Step 2 exactly as the note types it."""
    return sh(f"aws ecr get-login-password --region {lab.region} | "
              f"docker login --username AWS --password-stdin {lab.registry}", env)


def make_context(root: Path, app_text: str, salt: str = "") -> Path:
    """Two layers from scratch: a 'base' layer shared by both versions and an app layer.

    `salt` makes the base layer unique to one test: the daemon is shared, and a layer it already
    holds from another test would show up as "Already exists" on pull."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "base.txt").write_text(f"shared base layer {salt}\n" * 200)
    (root / "app.txt").write_text(app_text)
    (root / "Dockerfile").write_text("FROM scratch\nCOPY base.txt /base.txt\n"
                                     "COPY app.txt /app/app.txt\nCMD [\"/app\"]\n")
    return root


def test_seed_flow_create_login_tag_push_second_version_pull(
        lab, tmp_path, docker_env, require_docker, require_aws_cli) -> None:
    env = docker_env
    name = unique("hello-app")
    registry = lab.registry

    # 1. create the repository (ECR never creates one on push)
    out = sh(f"aws ecr create-repository --repository-name {name}", env).stdout
    assert json.loads(out)["repository"]["repositoryUri"] == f"{registry}/{name}"

    # 2. authenticate exactly as the note says
    assert "Login Succeeded" in docker_login(lab, env).stdout

    digests = {}
    for version, text in (("1.0", "hello v1\n"), ("2.0", "hello v2, new code\n")):
        ctx = make_context(tmp_path / f"ctx{version}", text, salt=name)
        sh(f"docker build -q -t {name}:{version} {ctx}", env)
        # STEP 1: name it after the repository URI; STEP 2: push
        sh(f"docker tag {name}:{version} {registry}/{name}:{version}", env)
        push = sh(f"docker push {registry}/{name}:{version}", env).stdout
        digests[version] = re.search(r"digest: (sha256:[0-9a-f]{64})", push).group(1)
        if version == "1.0":
            assert push.count("Pushed") == 2 and "Layer already exists" not in push, push
        else:  # only the new layer travels
            assert push.count("Pushed") == 1 and push.count("Layer already exists") == 1, push

    images = json.loads(sh(f"aws ecr describe-images --repository-name {name}", env).stdout)
    by_tag = {d["imageTags"][0]: d for d in images["imageDetails"]}
    assert {t: d["imageDigest"] for t, d in by_tag.items()} == digests
    for detail in by_tag.values():
        assert detail["imageSizeInBytes"] > 0
        assert detail["imageManifestMediaType"] == \
            "application/vnd.docker.distribution.manifest.v2+json"

    # pull: remove the local copies, then pull v1 (everything downloads) and v2 (shared layer stays)
    sh(f"docker rmi -f {registry}/{name}:1.0 {registry}/{name}:2.0 {name}:1.0 {name}:2.0", env)
    pull1 = sh(f"docker pull {registry}/{name}:1.0", env).stdout
    assert pull1.count("Pull complete") == 2, pull1
    assert f"Digest: {digests['1.0']}" in pull1
    pull2 = sh(f"docker pull {registry}/{name}:2.0", env).stdout
    assert "Already exists" in pull2 and pull2.count("Pull complete") == 1, pull2
    assert f"Digest: {digests['2.0']}" in pull2

    # the lab's trace saw the pull flow: challenge, manifest, redirect to pre-signed storage
    trace = lab.trace()
    assert any(r.status == 401 and r.is_ping for r in trace)
    assert any(r.status == 307 and r.route == "blob" and r.repository == name for r in trace)
    assert any(r.auth == "presigned" and r.status == 200 for r in trace)
    sh(f"docker rmi -f {registry}/{name}:1.0 {registry}/{name}:2.0", env, check=False)


def test_push_to_missing_repository_fails_with_ecr_message(
        lab, tmp_path, docker_env, require_docker, require_aws_cli) -> None:
    env = docker_env
    name = unique("never-created")
    docker_login(lab, env)
    ctx = make_context(tmp_path / "ctx", "x\n")
    sh(f"docker build -q -t {lab.registry}/{name}:1 {ctx}", env)
    r = sh(f"docker push {lab.registry}/{name}:1", env, check=False)
    assert r.returncode != 0
    assert_ecr_message("docker.name-unknown-push", last_line(r.stderr), repository=name,
                       registry_id=lab.account_id)
    sh(f"docker rmi -f {lab.registry}/{name}:1", env, check=False)


def test_immutable_repository_refuses_tag_overwrite(
        lab, tmp_path, docker_env, require_docker, require_aws_cli) -> None:
    env = docker_env
    name = unique("frozen")
    sh(f"aws ecr create-repository --repository-name {name} --image-tag-mutability IMMUTABLE",
       env)
    docker_login(lab, env)
    for i, text in enumerate(["one\n", "two\n"]):
        ctx = make_context(tmp_path / f"c{i}", text)
        sh(f"docker build -q -t {lab.registry}/{name}:1.0 {ctx}", env)
        r = sh(f"docker push {lab.registry}/{name}:1.0", env, check=False)
        if i == 0:
            assert r.returncode == 0, r.stderr
        else:
            assert r.returncode != 0
            assert_ecr_message("docker.tag-invalid-immutable", last_line(r.stderr), tag="1.0",
                               repository=name)
    sh(f"docker rmi -f {lab.registry}/{name}:1.0", env, check=False)


def test_no_login_gets_no_basic_auth_credentials(lab, tmp_path, docker_env, require_docker
                                                 ) -> None:
    env = docker_env  # its DOCKER_CONFIG is empty: no login happened
    name = unique("nologin")
    ctx = make_context(tmp_path / "ctx", "x\n")
    sh(f"docker build -q -t {lab.registry}/{name}:1 {ctx}", env)
    r = sh(f"docker push {lab.registry}/{name}:1", env, check=False)
    assert r.returncode != 0
    assert_ecr_message("docker.no-basic-auth-credentials", last_line(r.stderr))
    sh(f"docker rmi -f {lab.registry}/{name}:1", env, check=False)
