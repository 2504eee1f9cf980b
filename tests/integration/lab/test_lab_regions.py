"""Each region is a registry of its own, as on ECR, with the real AWS CLI and the docker CLI:
`--region eu-west-1` sees eu-west-1's repositories only, eu-west-1's registry has an address of
its own (a port, labkit/lab/server/regions.py), a token from us-east-1 does not open it (and
`labkit explain` gives the login that does), and the region comes back on its port when the
lab restarts. An unsigned or wrongly signed call makes no region."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import lab_environ
from tests.integration.lab.labs import aws as _aws
from tests.integration.lab.labs import labkit as _labkit
from tests.integration.lab.labs import names as _names
from tests.integration.lab.test_lab_seed_flow import sh

pytestmark = pytest.mark.docker
OTHER = "eu-west-1"


def test_each_region_is_a_registry_of_its_own(private_lab: Any, tmp_path: Path,
                                               require_docker: None,
                                               require_aws_cli: None) -> None:
    from labkit.lab import process

    lab = private_lab
    env = lab_environ(lab, tmp_path / "docker-config")
    home_uri = json.loads(_aws(env, "ecr", "create-repository", "--repository-name", "app-us"
                               ).stdout)["repository"]["repositoryUri"]
    other_uri = json.loads(_aws(env, "ecr", "create-repository", "--repository-name", "app-eu",
                                "--region", OTHER).stdout)["repository"]["repositoryUri"]
    # each region lists its own repositories, and names its own registry in their URIs
    assert _names(env, lab.region) == ["app-us"] and _names(env, OTHER) == ["app-eu"]
    assert home_uri == f"{lab.registry}/app-us"
    other_registry = other_uri.rsplit("/", 1)[0]
    assert other_registry != lab.registry and other_registry.startswith("127.0.0.1:")
    assert lab.status()["regions"] == {lab.region: lab.registry, OTHER: other_registry}
    status = _labkit(env, "lab", "status")
    assert f"  {OTHER:<9} registry {other_registry}" in status.stdout.splitlines(), status.stdout
    # a repository of one region is not found in the other (ECR's exception, the AWS CLI's words)
    missing = _aws(env, "ecr", "describe-images", "--repository-name", "app-eu", check=False)
    assert missing.returncode != 0 and "RepositoryNotFoundException" in missing.stderr
    # GetAuthorizationToken names the region's registry, as ECR's proxyEndpoint does
    data = json.loads(_aws(env, "ecr", "get-authorization-token", "--region", OTHER).stdout)
    assert data["authorizationData"][0]["proxyEndpoint"] == f"http://{other_registry}"

    # the seed's flow against eu-west-1: its own login, its push, its image
    sh(f"aws ecr get-login-password --region {OTHER} | "
       f"docker login --username AWS --password-stdin {other_registry}", env)
    image = f"{other_registry}/app-eu:v1"
    sh(f"docker tag labkit/base:1.0 {image} 2>/dev/null || "
       f"(docker build -q -t {image} \"$(labkit sample path v1)\")", env)
    sh(f"docker push {image}", env)
    tags = json.loads(_aws(env, "ecr", "describe-images", "--repository-name", "app-eu",
                           "--region", OTHER).stdout)["imageDetails"][0]["imageTags"]
    assert tags == ["v1"]
    assert json.loads(_aws(env, "ecr", "describe-images", "--repository-name", "app-us"
                           ).stdout)["imageDetails"] == []  # nothing arrived in us-east-1

    # the lab restarts: eu-west-1 comes back on its port, with its image
    home = Path(lab.status()["home"])
    process.stop(home)
    again = process.start(home, port=int(lab.registry.rsplit(":", 1)[1]))
    assert again.status()["regions"][OTHER] == other_registry
    assert _names(env, OTHER) == ["app-eu"]
    sh(f"docker rmi {image} && docker pull {image}", env)


def test_a_token_from_another_region_does_not_open_its_registry(
        private_lab: Any, tmp_path: Path, require_docker: None, require_aws_cli: None) -> None:
    """us-east-1's password at eu-west-1's registry: docker login gets 400 (the lab's answer
    to another region's token, as on the lab's first registry), and `labkit explain` names
    eu-west-1's login and address, which then works as printed."""
    lab = private_lab
    env = lab_environ(lab, tmp_path / "docker-config")
    uri = json.loads(_aws(env, "ecr", "create-repository", "--repository-name", "app-eu",
                          "--region", OTHER).stdout)["repository"]["repositoryUri"]
    other_registry = uri.rsplit("/", 1)[0]
    login = sh(f"aws ecr get-login-password --region {lab.region} | "
               f"docker login --username AWS --password-stdin {other_registry}", env,
               check=False)
    assert login.returncode != 0 and "400 Bad Request" in login.stderr, login.stderr
    explained = _labkit(env, "explain")
    assert explained.returncode == 0, explained.stderr
    text = explained.stdout
    assert "a login with another region's token" in text, text
    assert f"the password is a token for {lab.region}" in text
    assert f"this registry is {OTHER}'s" in text, text
    fix = next(ln for ln in text.splitlines() if ln.lstrip().startswith("fix"))
    command = fix.split("fix", 1)[1].strip()
    assert command == (f"aws ecr get-login-password --region {OTHER} | docker login "
                       f"--username AWS --password-stdin {other_registry}"), command
    sh(command, env)  # the printed fix logs in


def test_unsigned_or_wrongly_signed_calls_make_no_region(private_lab: Any, tmp_path: Path,
                                                         require_aws_cli: None) -> None:
    lab = private_lab
    env = lab_environ(lab, tmp_path / "docker-config")
    unsigned = _aws(env, "ecr", "describe-repositories", "--region", "ap-south-1",
                    "--no-sign-request", check=False)
    assert unsigned.returncode != 0 and "MissingAuthenticationTokenException" in unsigned.stderr
    wrong = _aws(dict(env, AWS_SECRET_ACCESS_KEY="not-the-secret"), "ecr",
                 "describe-repositories", "--region", "ap-south-1", check=False)
    assert wrong.returncode != 0 and "InvalidSignatureException" in wrong.stderr
    assert list(lab.status()["regions"]) == [lab.region]
    assert not (Path(lab.status()["home"]) / "regions" / "ap-south-1").exists()


def test_the_builtin_engine_pushes_to_another_regions_registry(
        private_lab: Any, tmp_path: Path, require_aws_cli: None) -> None:
    """The same flow with labkit's daemonless engine (`labkit docker`): its own login to
    eu-west-1's address, its push; us-east-1's password is refused there."""
    lab = private_lab
    env = dict(lab_environ(lab, tmp_path / "docker-config"), LABKIT_ENGINE="builtin",
               LABKIT_ENGINE_HOME=str(tmp_path / "engine"))
    uri = json.loads(_aws(env, "ecr", "create-repository", "--repository-name", "app-eu",
                          "--region", OTHER).stdout)["repository"]["repositoryUri"]
    other_registry = uri.rsplit("/", 1)[0]
    docker = f"{sys.executable} -m labkit docker"
    refused = sh(f"aws ecr get-login-password | {docker} login --username AWS "
                 f"--password-stdin {other_registry}", env, check=False)
    assert refused.returncode != 0 and "400 Bad Request" in refused.stderr, refused.stderr
    assert f"--region {lab.region}" not in refused.stderr  # no hint to the wrong region
    sh(f"aws ecr get-login-password --region {OTHER} | {docker} login --username AWS "
       f"--password-stdin {other_registry}", env)
    sh(f"{docker} build -q -t {uri}:v1 \"$({sys.executable} -m labkit sample path v1)\" && "
       f"{docker} push {uri}:v1", env)
    details = json.loads(_aws(env, "ecr", "describe-images", "--repository-name", "app-eu",
                              "--region", OTHER).stdout)["imageDetails"]
    assert [d["imageTags"] for d in details] == [["v1"]]
