"""ECR's rules on the lab's one store, through boto3 and plain HTTP against a running lab: the
layer API, PutImage's checks, tag mutability with exclusion filters on both paths, DescribeImages'
fields, BatchGetImage's tags, blob DELETE, and what the lab's port refuses to be."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import botocore.exceptions
import pytest
import requests

from tests.conftest import registry_credentials, unique
from tests.fixtures.ecr_messages import assert_ecr_message

CONFIG = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
MiB = 1024 * 1024


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def error_of(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        call(**kwargs)
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


def api_upload(ecr: Any, repo: str, data: bytes, part: int | None = None) -> str:
    """A layer through InitiateLayerUpload / UploadLayerPart / CompleteLayerUpload."""
    up = ecr.initiate_layer_upload(repositoryName=repo)
    part = part or up["partSize"]
    for start in range(0, len(data), part):
        chunk = data[start:start + part]
        ecr.upload_layer_part(repositoryName=repo, uploadId=up["uploadId"], partFirstByte=start,
                              partLastByte=start + len(chunk) - 1, layerPartBlob=chunk)
    return ecr.complete_layer_upload(repositoryName=repo, uploadId=up["uploadId"],
                                     layerDigests=[sha(data)])["layerDigest"]


def v2_push_blob(lab: Any, ecr: Any, repo: str, data: bytes) -> str:
    r = requests.post(f"{lab.endpoint_url}/v2/{repo}/blobs/uploads/", params={"digest": sha(data)},
                      data=data, auth=registry_credentials(ecr), timeout=10)
    assert r.status_code == 201, r.text
    return sha(data)


def manifest_of(layer: bytes, note: str = "") -> str:
    doc: dict[str, Any] = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha(CONFIG), "size": len(CONFIG)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": sha(layer), "size": len(layer)}]}
    if note:
        doc["annotations"] = {"note": note}
    return json.dumps(doc)


def repo_with_blobs(ecr: Any, *layers: bytes, **settings: Any) -> str:
    name = unique("rules/repo")
    ecr.create_repository(repositoryName=name, **settings)
    api_upload(ecr, name, CONFIG)
    for layer in layers:
        api_upload(ecr, name, layer)
    return name


def v2(lab: Any, ecr: Any, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{lab.endpoint_url}/v2/{path}", timeout=10,
                            auth=registry_credentials(ecr), **kwargs)


# --- the layer API on the one store ---------------------------------------------------------
def test_layers_sent_with_the_api_are_served_by_v2_and_the_other_way_round(lab, ecr_client):
    name = unique("rules/layers")
    ecr_client.create_repository(repositoryName=name)
    data = b"layer via the API " * 1000
    assert api_upload(ecr_client, name, data) == sha(data)
    r = v2(lab, ecr_client, "GET", f"{name}/blobs/{sha(data)}")
    assert r.status_code == 200 and r.content == data  # followed the 307 to storage

    pushed = v2_push_blob(lab, ecr_client, name, b"layer via /v2/")
    out = ecr_client.batch_check_layer_availability(repositoryName=name,
                                                     layerDigests=[pushed, sha(b"never")])
    assert out["layers"] == [{"layerDigest": pushed, "layerAvailability": "AVAILABLE",
                              "layerSize": len(b"layer via /v2/")}]
    assert out["failures"][0]["failureCode"] == "MissingLayerDigest"

    # a layer no image uses yet: ECR gives no download URL for it
    code, _ = error_of(ecr_client.get_download_url_for_layer, repositoryName=name,
                       layerDigest=pushed)
    assert code == "LayerInaccessibleException"
    v2_push_blob(lab, ecr_client, name, CONFIG)
    ecr_client.put_image(repositoryName=name, imageTag="uses-it",
                         imageManifest=manifest_of(b"layer via /v2/"))
    url = ecr_client.get_download_url_for_layer(repositoryName=name,
                                                layerDigest=pushed)["downloadUrl"]
    got = requests.get(url, timeout=10)  # pre-signed: no credentials
    assert got.status_code == 200 and got.content == b"layer via /v2/"
    code, _ = error_of(ecr_client.get_download_url_for_layer, repositoryName=name,
                       layerDigest=sha(b"never"))
    assert code == "LayersNotFoundException"


def test_layer_upload_rules(lab, ecr_client):
    name = unique("rules/parts")
    ecr_client.create_repository(repositoryName=name)
    up = ecr_client.initiate_layer_upload(repositoryName=name)
    assert up["partSize"] == 20 * MiB
    uid = up["uploadId"]
    code, _ = error_of(ecr_client.complete_layer_upload, repositoryName=name, uploadId=uid,
                       layerDigests=[sha(b"")])
    assert code == "EmptyUploadException"
    code, msg = error_of(ecr_client.upload_layer_part, repositoryName=name, uploadId=uid,
                         partFirstByte=5, partLastByte=9, layerPartBlob=b"12345")
    assert code == "InvalidLayerPartException"
    assert_ecr_message("registry.blob-upload-out-of-order", msg, first_byte=5, expected_byte=0)
    code, _ = error_of(ecr_client.upload_layer_part, repositoryName=name, uploadId=uid,
                       partFirstByte=0, partLastByte=9, layerPartBlob=b"12345")
    assert code == "InvalidLayerPartException"
    # a first part under 5 MiB followed by another: LayerPartTooSmallException at the end
    ecr_client.upload_layer_part(repositoryName=name, uploadId=uid, partFirstByte=0,
                                 partLastByte=4, layerPartBlob=b"12345")
    ecr_client.upload_layer_part(repositoryName=name, uploadId=uid, partFirstByte=5,
                                 partLastByte=9, layerPartBlob=b"67890")
    code, msg = error_of(ecr_client.complete_layer_upload, repositoryName=name, uploadId=uid,
                         layerDigests=[sha(b"1234567890")])
    assert code == "LayerPartTooSmallException"
    assert_ecr_message("api.layer-part-too-small", msg)

    big = bytes(range(256)) * (5 * MiB // 256) + b"tail"  # two parts: 5 MiB and 4 bytes
    assert api_upload(ecr_client, name, big, part=5 * MiB) == sha(big)
    code, _ = error_of(api_upload, ecr=ecr_client, repo=name, data=big, part=5 * MiB)
    assert code == "LayerAlreadyExistsException"

    uid = ecr_client.initiate_layer_upload(repositoryName=name)["uploadId"]
    ecr_client.upload_layer_part(repositoryName=name, uploadId=uid, partFirstByte=0,
                                 partLastByte=2, layerPartBlob=b"abc")
    code, _ = error_of(ecr_client.complete_layer_upload, repositoryName=name, uploadId=uid,
                       layerDigests=[sha(b"abd")])
    assert code == "InvalidLayerException"
    assert v2(lab, ecr_client, "HEAD", f"{name}/blobs/{sha(b'abd')}").status_code == 404
    uid = ecr_client.initiate_layer_upload(repositoryName=name)["uploadId"]
    code, msg = error_of(ecr_client.upload_layer_part, repositoryName=name, uploadId=uid,
                         partFirstByte=0, partLastByte=20 * MiB, layerPartBlob=b"x" * (20 * MiB + 1))
    assert code == "InvalidLayerPartException"
    assert_ecr_message("model.InvalidLayerPartException", msg)
    code, _ = error_of(ecr_client.upload_layer_part, repositoryName=name,
                       uploadId="0b5f4a54-1c7e-4e3b-9d1e-2f1b0c9a7e11", partFirstByte=0,
                       partLastByte=0, layerPartBlob=b"x")
    assert code == "UploadNotFoundException"


# --- PutImage ---------------------------------------------------------------------------------
def test_put_image_checks(lab, ecr_client):
    name = repo_with_blobs(ecr_client, b"L1")
    code, msg = error_of(ecr_client.put_image, repositoryName=name, imageManifest="not json",
                         imageTag="x")
    assert code == "InvalidParameterException"
    assert_ecr_message("api.invalid-parameter.image-manifest-json", msg)
    code, msg = error_of(ecr_client.put_image, repositoryName=name,
                         imageManifest=manifest_of(b"never pushed"), imageTag="x")
    assert code == "LayersNotFoundException" and sha(b"never pushed") in msg
    code, _ = error_of(ecr_client.put_image, repositoryName=name,
                       imageManifest=manifest_of(b"L1"), imageTag="x",
                       imageDigest=sha(b"something else"))
    assert code == "ImageDigestDoesNotMatchException"
    for bad in ("bad tag!", "t" * 129):
        code, _ = error_of(ecr_client.put_image, repositoryName=name,
                           imageManifest=manifest_of(b"L1"), imageTag=bad)
        assert code == "InvalidParameterException"
    assert ecr_client.list_images(repositoryName=name)["imageIds"] == []  # nothing half-stored

    ecr_client.put_image(repositoryName=name, imageManifest=manifest_of(b"L1"), imageTag="1.0")
    code, msg = error_of(ecr_client.put_image, repositoryName=name,
                         imageManifest=manifest_of(b"L1"), imageTag="1.0")
    assert code == "ImageAlreadyExistsException" and "1.0" in msg
    tags = v2(lab, ecr_client, "GET", f"{name}/tags/list").json()["tags"]
    assert tags == ["1.0"]


def test_immutable_tags_with_exclusion_filters_on_both_paths(lab, ecr_client):
    name = repo_with_blobs(ecr_client, b"A", b"B", imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
                           imageTagMutabilityExclusionFilters=[
                               {"filterType": "WILDCARD", "filter": "latest*"}])
    a, b = manifest_of(b"A"), manifest_of(b"B")
    for tag in ("1.0", "latest-dev"):
        ecr_client.put_image(repositoryName=name, imageManifest=a, imageTag=tag)
    code, msg = error_of(ecr_client.put_image, repositoryName=name, imageManifest=b,
                         imageTag="1.0")
    assert code == "ImageTagAlreadyExistsException"
    # PutImage's wire text is not on record: the lab says ECR's words for it on /v2/
    assert_ecr_message("registry.tag-invalid-immutable", msg, tag="1.0", repository=name)
    ecr_client.put_image(repositoryName=name, imageManifest=b, imageTag="latest-dev")  # excluded

    ct = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
    r = v2(lab, ecr_client, "PUT", f"{name}/manifests/1.0", data=b.encode(), headers=ct)
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "TAG_INVALID"
    r = v2(lab, ecr_client, "PUT", f"{name}/manifests/latest-dev", data=a.encode(), headers=ct)
    assert r.status_code == 201

    ecr_client.put_image_tag_mutability(
        repositoryName=name, imageTagMutability="MUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "release-*"}])
    ecr_client.put_image(repositoryName=name, imageManifest=b, imageTag="1.0")  # now mutable
    ecr_client.put_image(repositoryName=name, imageManifest=a, imageTag="release-1")
    r = v2(lab, ecr_client, "PUT", f"{name}/manifests/release-1", data=b.encode(), headers=ct)
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "TAG_INVALID"
    code, _ = error_of(ecr_client.put_image, repositoryName=name, imageManifest=b,
                       imageTag="release-1")
    assert code == "ImageTagAlreadyExistsException"
    repo = ecr_client.describe_repositories(repositoryNames=[name])["repositories"][0]
    assert repo["imageTagMutability"] == "MUTABLE_WITH_EXCLUSION"
    assert repo["imageTagMutabilityExclusionFilters"] == [
        {"filterType": "WILDCARD", "filter": "release-*"}]


def test_v2_refuses_the_same_bad_tags(lab, ecr_client):
    name = repo_with_blobs(ecr_client, b"T")
    r = v2(lab, ecr_client, "PUT", f"{name}/manifests/{'t' * 129}",
           data=manifest_of(b"T").encode(),
           headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "TAG_INVALID"


# --- DescribeImages / BatchGetImage -----------------------------------------------------------
def test_describe_images_fields_and_pull_time(lab, ecr_client):
    name = repo_with_blobs(ecr_client, b"D" * 300)
    m = manifest_of(b"D" * 300)
    ecr_client.put_image(repositoryName=name, imageManifest=m, imageTag="v1")
    detail = ecr_client.describe_images(repositoryName=name)["imageDetails"][0]
    assert detail["artifactMediaType"] == "application/vnd.oci.image.config.v1+json"
    assert detail["imageSizeInBytes"] == 300
    assert "lastRecordedPullTime" not in detail
    r = v2(lab, ecr_client, "GET", f"{name}/manifests/v1",
           headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 200
    detail = ecr_client.describe_images(repositoryName=name)["imageDetails"][0]
    assert detail["lastRecordedPullTime"] >= detail["imagePushedAt"]

    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                       "digest": sha(m.encode()), "size": len(m),
                                       "platform": {"os": "linux", "architecture": "amd64"}}]})
    ecr_client.put_image(repositoryName=name, imageManifest=index, imageTag="multi")
    got = ecr_client.describe_images(repositoryName=name, imageIds=[{"imageTag": "multi"}])
    assert got["imageDetails"][0]["imageSizeInBytes"] == 300
    assert got["imageDetails"][0]["imageManifestMediaType"] == \
        "application/vnd.oci.image.index.v1+json"
    code, _ = error_of(ecr_client.describe_images, repositoryName=name,
                       imageIds=[{"imageTag": "nope"}])
    assert code == "ImageNotFoundException"


def test_batch_get_image_answers_the_tag_asked_for(lab, ecr_client):
    name = repo_with_blobs(ecr_client, b"G")
    m = manifest_of(b"G")
    ecr_client.put_image(repositoryName=name, imageManifest=m, imageTag="2.0")
    ecr_client.put_image(repositoryName=name, imageManifest=m, imageTag="stable")
    got = ecr_client.batch_get_image(repositoryName=name, imageIds=[{"imageTag": "2.0"}])
    assert got["images"][0]["imageId"] == {"imageDigest": sha(m.encode()), "imageTag": "2.0"}
    got = ecr_client.batch_get_image(repositoryName=name, imageIds=[{"imageTag": "nope"}])
    assert got["failures"][0]["failureCode"] == "ImageNotFound"


# --- blob DELETE, other services, the realm ---------------------------------------------------
def test_blob_delete_never_breaks_a_tagged_image(lab, ecr_client):
    name = repo_with_blobs(ecr_client, b"keep me")
    ecr_client.put_image(repositoryName=name, imageManifest=manifest_of(b"keep me"),
                         imageTag="v1")
    r = v2(lab, ecr_client, "DELETE", f"{name}/blobs/{sha(b'keep me')}")
    assert r.status_code == 405 and r.json()["errors"][0]["code"] == "UNSUPPORTED"
    r = v2(lab, ecr_client, "GET", f"{name}/blobs/{sha(b'keep me')}")
    assert r.status_code == 200 and r.content == b"keep me"


def test_the_port_serves_only_ecr_sts_and_v2(lab, ecr_client):
    import boto3

    from labkit import config

    for method, path in (("GET", "/"), ("PUT", "/some-bucket"), ("GET", "/some-bucket?list-type=2")):
        r = requests.request(method, f"{lab.endpoint_url}{path}", timeout=10)
        assert "ListAllMyBucketsResult" not in r.text and "<?xml" not in r.text
        assert r.headers["Content-Type"] == "application/json"
    r = requests.put(f"{lab.endpoint_url}/some-bucket", timeout=10)
    assert r.status_code == 400
    assert "serves only the Amazon ECR API" in r.json()["message"]
    sts = boto3.client("sts", endpoint_url=lab.endpoint_url, region_name=lab.region,
                       aws_access_key_id=config.LAB_ACCESS_KEY,
                       aws_secret_access_key=config.LAB_SECRET_KEY)
    assert sts.get_caller_identity()["Account"] == lab.account_id
    s3 = boto3.client("s3", endpoint_url=lab.endpoint_url, region_name=lab.region,
                      aws_access_key_id=config.LAB_ACCESS_KEY,
                      aws_secret_access_key=config.LAB_SECRET_KEY)
    with pytest.raises(botocore.exceptions.ClientError):
        s3.create_bucket(Bucket="labkit-not-here")


def test_the_challenge_realm_answers_json(lab, ecr_client):
    r = requests.get(f"{lab.endpoint_url}/v2/", timeout=10)
    assert r.status_code == 401
    challenge = r.headers["WWW-Authenticate"]
    realm = challenge.split('realm="')[1].split('"')[0]
    anonymous = requests.get(realm, timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["errors"][0]["code"] == "UNAUTHORIZED"
    following = requests.get(realm, auth=registry_credentials(ecr_client), timeout=10)
    assert following.status_code == 200 and following.json()["auth"] == "basic"


def test_names_with_double_separators_work_on_both_paths(lab, ecr_client):
    name = unique("rules/a--b__c")
    ecr_client.create_repository(repositoryName=name)
    assert v2_push_blob(lab, ecr_client, name, b"dashes") == sha(b"dashes")
    assert name in v2(lab, ecr_client, "GET", "_catalog").json()["repositories"]


def test_scanning_configuration_without_rules_leaves_create_repository_working(ecr_client):
    """The issue's example: this call used to store `rules: None` and break CreateRepository."""
    out = ecr_client.put_registry_scanning_configuration(scanType="BASIC")
    assert out["registryScanningConfiguration"] == {"scanType": "BASIC", "rules": []}
    name = unique("rules/after-scan-config")
    assert ecr_client.create_repository(repositoryName=name)["repository"]["repositoryName"] == name
    code, _ = error_of(ecr_client.start_image_scan, repositoryName=name,
                       imageId={"imageTag": "none"})
    assert code == "ImageNotFoundException"
