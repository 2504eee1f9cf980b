"""The lab's ECR API through boto3 and the AWS CLI: ECR's rules, exception names and messages."""

from __future__ import annotations

import base64
import json
import subprocess
import time

import botocore.exceptions
import pytest
import requests

from tests.conftest import lab_environ, unique


def error_of(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        call(**kwargs)
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


def test_create_repository_names_the_lab(lab, ecr_client) -> None:
    name = unique("team/web")
    repo = ecr_client.create_repository(repositoryName=name)["repository"]
    assert repo["repositoryUri"] == f"{lab.registry}/{name}"
    assert repo["registryId"] == lab.account_id
    described = ecr_client.describe_repositories(repositoryNames=[name])["repositories"][0]
    assert described["repositoryUri"] == f"{lab.registry}/{name}"
    code, msg = error_of(ecr_client.create_repository, repositoryName=name)
    assert code == "RepositoryAlreadyExistsException"


@pytest.mark.parametrize("bad", ["Hello-App", "a..b", "-lead", "trail-", "a//b", "x/", "UPPER"])
def test_invalid_names_are_refused_like_ecr(ecr_client, bad: str) -> None:
    code, msg = error_of(ecr_client.create_repository, repositoryName=bad)
    assert code == "InvalidParameterException"
    assert msg.startswith("Invalid parameter at 'repositoryName' failed to satisfy constraint: "
                          "'must satisfy regular expression")


def test_too_long_name_is_a_validation_error(ecr_client) -> None:
    code, msg = error_of(ecr_client.create_repository, repositoryName="a" * 257)
    assert code == "ValidationException"
    assert "Member must have length less than or equal to 256" in msg


def test_missing_repository(ecr_client, lab) -> None:
    name = unique("ghost")
    code, msg = error_of(ecr_client.describe_images, repositoryName=name)
    assert code == "RepositoryNotFoundException"
    assert msg == (f"The repository with name '{name}' does not exist in the registry with id "
                   f"'{lab.account_id}'")
    code, _ = error_of(ecr_client.put_image, repositoryName=name, imageManifest="{}",
                       imageTag="x")
    assert code == "RepositoryNotFoundException"


def test_authorization_token_is_real_and_expires(lab, ecr_client) -> None:
    data = ecr_client.get_authorization_token()["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert user == "AWS" and len(password) > 50
    assert data["proxyEndpoint"] == f"http://{lab.registry}"
    remaining = data["expiresAt"].timestamp() - time.time()
    assert 12 * 3600 - 120 < remaining <= 12 * 3600 + 1
    r = requests.get(f"{lab.endpoint_url}/v2/", auth=("AWS", password), timeout=10)
    assert r.status_code == 200


def test_aws_cli_get_login_password(lab, tmp_path, require_aws_cli) -> None:
    env = lab_environ(lab)
    out = subprocess.run(["aws", "ecr", "get-login-password", "--region", lab.region], env=env,
                         capture_output=True, text=True, timeout=120, check=True).stdout.strip()
    r = requests.get(f"{lab.endpoint_url}/v2/", auth=("AWS", out), timeout=10)
    assert r.status_code == 200


def test_put_image_api_immutable_tag(lab, ecr_client) -> None:
    """ECR's PutImage names the immutable-tag refusal ImageTagAlreadyExistsException."""
    name = unique("api-immutable")
    ecr_client.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")
    m1 = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
          "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                     "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
                     "size": 2}, "layers": []}
    # The config blob must exist for the registry to serve it; PutImage itself only records.
    ecr_client.put_image(repositoryName=name, imageManifest=json.dumps(m1), imageTag="1.0")
    m2 = dict(m1, annotations={"v": "2"})
    code, msg = error_of(ecr_client.put_image, repositoryName=name,
                         imageManifest=json.dumps(m2), imageTag="1.0")
    assert code == "ImageTagAlreadyExistsException"
    assert msg == (f"The image tag '1.0' already exists in the '{name}' repository and cannot be "
                   "overwritten because the repository is immutable.")
