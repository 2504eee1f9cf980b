"""The lab's ECR API through boto3 and the AWS CLI: ECR's rules, exception names and messages."""

from __future__ import annotations

import base64
import json
import subprocess
import time

import botocore.exceptions
import pytest
import requests

from tests.conftest import lab_environ, registry_credentials, unique


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


def test_too_long_name_in_ecrs_words(ecr_client) -> None:
    """ECR answers a name's length like its pattern: InvalidParameterException, 'must have...'."""
    code, msg = error_of(ecr_client.create_repository, repositoryName="a" * 257)
    assert code == "InvalidParameterException"
    assert msg == ("Invalid parameter at 'repositoryName' failed to satisfy constraint: "
                   "'must have length less than or equal to 256'")


@pytest.mark.parametrize("good", ["a--b", "a__b", "team/a---b", "x.y_z"])
def test_names_ecrs_current_pattern_allows(ecr_client, good: str) -> None:
    name = unique(good)
    assert ecr_client.create_repository(repositoryName=name)["repository"]["repositoryName"] == name


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
    # ECR's PutImage refuses a manifest whose blobs were never pushed: send the config first.
    upload = ecr_client.initiate_layer_upload(repositoryName=name)["uploadId"]
    ecr_client.upload_layer_part(repositoryName=name, uploadId=upload, partFirstByte=0,
                                 partLastByte=1, layerPartBlob=b"{}")
    ecr_client.complete_layer_upload(repositoryName=name, uploadId=upload,
                                     layerDigests=[m1["config"]["digest"]])
    ecr_client.put_image(repositoryName=name, imageManifest=json.dumps(m1), imageTag="1.0")
    m2 = dict(m1, annotations={"v": "2"})
    code, msg = error_of(ecr_client.put_image, repositoryName=name,
                         imageManifest=json.dumps(m2), imageTag="1.0")
    assert code == "ImageTagAlreadyExistsException"
    assert msg == (f"The image tag '1.0' already exists in the '{name}' repository and cannot be "
                   "overwritten because the repository is immutable.")


def _push_raw(lab, ecr_client, name: str, tag: str, payload: bytes) -> tuple[str, bytes]:
    """Push a one-layer image through the registry (raw HTTP); returns (digest, manifest)."""
    import hashlib

    auth = registry_credentials(ecr_client)
    base = f"{lab.endpoint_url}/v2/{name}"
    descs = []
    for data in (b'{"architecture":"amd64","os":"linux","rootfs":{}}', payload):
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        r = requests.post(f"{base}/blobs/uploads/", params={"digest": d}, data=data, auth=auth,
                          timeout=10)
        assert r.status_code == 201, r.text
        descs.append({"digest": d, "size": len(data)})
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", **descs[0]},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    **descs[1]}]}).encode()
    r = requests.put(f"{base}/manifests/{tag}", data=manifest, auth=auth, timeout=10, headers={
        "Content-Type": "application/vnd.docker.distribution.manifest.v2+json"})
    assert r.status_code == 201, r.text
    return r.headers["Docker-Content-Digest"], manifest


def _registry_get(lab, ecr_client, path: str) -> requests.Response:
    return requests.get(f"{lab.endpoint_url}/v2/{path}", auth=registry_credentials(ecr_client),
                        timeout=10,
                        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})


def test_pushed_image_in_list_batch_get_and_deletes_reach_the_registry(lab, ecr_client) -> None:
    import hashlib

    name = unique("api-sync")
    ecr_client.create_repository(repositoryName=name)
    d1, m1 = _push_raw(lab, ecr_client, name, "v1", b"one" * 1000)
    d2, _ = _push_raw(lab, ecr_client, name, "v2", b"two" * 1000)
    assert d1 == "sha256:" + hashlib.sha256(m1).hexdigest()

    listed = ecr_client.list_images(repositoryName=name)["imageIds"]
    assert sorted((i["imageTag"], i["imageDigest"]) for i in listed) == [("v1", d1), ("v2", d2)]
    got = ecr_client.batch_get_image(repositoryName=name, imageIds=[{"imageTag": "v1"}])
    assert got["images"][0]["imageManifest"].encode() == m1
    assert got["images"][0]["imageId"]["imageDigest"] == d1

    # PutImage through the API adds a tag the registry then serves
    ecr_client.put_image(repositoryName=name, imageManifest=m1.decode(), imageTag="stable")
    r = _registry_get(lab, ecr_client, f"{name}/manifests/stable")
    assert r.status_code == 200 and r.content == m1

    # BatchDeleteImage by digest removes the image and its tags from the registry too
    out = ecr_client.batch_delete_image(repositoryName=name, imageIds=[{"imageDigest": d1}])
    assert not out["failures"]
    for ref in ("v1", "stable", d1):
        r = _registry_get(lab, ecr_client, f"{name}/manifests/{ref}")
        assert r.status_code == 404 and r.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    assert _registry_get(lab, ecr_client, f"{name}/tags/list").json()["tags"] == ["v2"]

    # DeleteRepository refuses a repository with images unless forced, then the registry forgets it
    code, _ = error_of(ecr_client.delete_repository, repositoryName=name)
    assert code == "RepositoryNotEmptyException"
    ecr_client.delete_repository(repositoryName=name, force=True)
    r = _registry_get(lab, ecr_client, f"{name}/manifests/v2")
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "NAME_UNKNOWN"
    assert name not in _registry_get(lab, ecr_client, "_catalog").json()["repositories"]
    ecr_client.create_repository(repositoryName=name)  # a new repository starts empty
    assert _registry_get(lab, ecr_client, f"{name}/manifests/v2").status_code == 404
    assert ecr_client.describe_images(repositoryName=name)["imageDetails"] == []
