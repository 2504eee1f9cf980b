"""Two accounts of a running lab for the isolation tests: B (team-b) holds a repository with an
image pushed through the ECR API alone; A (the lab's administrator) has a repository of its
own. `before` is B's state, to compare with after A's attempts."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from labkit import config
from labkit.lab.access.actions import operation_scopes

REPO = "secret/app"


def ecr_client(lab: Any, key: str, secret: str) -> Any:
    return boto3.client("ecr", endpoint_url=lab.endpoint_url, region_name=lab.region,
                        aws_access_key_id=key, aws_secret_access_key=secret)


def push_image(ecr: Any, repo: str) -> tuple[str, str]:
    """An image pushed through the ECR API alone (layer parts, then PutImage): its manifest's
    and its layer's digests."""
    layer = b"account b's private layer\n" * 64
    config_blob = json.dumps({"architecture": "amd64", "os": "linux",
                              "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    digests = []
    for blob in (layer, config_blob):
        upload = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
        ecr.upload_layer_part(repositoryName=repo, uploadId=upload, partFirstByte=0,
                              partLastByte=len(blob) - 1, layerPartBlob=blob)
        digest = f"sha256:{hashlib.sha256(blob).hexdigest()}"
        ecr.complete_layer_upload(repositoryName=repo, uploadId=upload, layerDigests=[digest])
        digests.append(digest)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digests[1], "size": len(config_blob)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": digests[0], "size": len(layer)}]})
    ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag="v1",
                  imageManifestMediaType="application/vnd.oci.image.manifest.v1+json")
    return f"sha256:{hashlib.sha256(manifest.encode()).hexdigest()}", digests[0]


def state_of(ecr: Any) -> dict[str, Any]:
    """What account B sees of its own repository (every field a change would show in)."""
    repo = ecr.describe_repositories(repositoryNames=[REPO])["repositories"][0]
    images = ecr.describe_images(repositoryName=REPO)["imageDetails"]
    try:
        policy = ecr.get_repository_policy(repositoryName=REPO)["policyText"]
    except ClientError as e:
        policy = e.response["Error"]["Code"]
    tags = ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"]
    return {"repository": repo, "images": images, "policy": policy, "tags": tags,
            "lifecycle": _code(lambda: ecr.get_lifecycle_policy(repositoryName=REPO))}


def _code(call: Any) -> str:
    try:
        call()
        return "ok"
    except ClientError as e:
        return str(e.response["Error"]["Code"])


@pytest.fixture()
def accounts(private_lab: Any) -> dict[str, Any]:
    lab = private_lab
    made = lab.create_account("team-b")
    b = ecr_client(lab, made["access_key_id"], made["secret_access_key"])
    b.create_repository(repositoryName=REPO)
    manifest, layer = push_image(b, REPO)
    a = ecr_client(lab, config.LAB_ACCESS_KEY, config.LAB_SECRET_KEY)
    a.create_repository(repositoryName="mine")
    return {"lab": lab, "a": a, "b": b, "b_id": made["account_id"], "manifest": manifest,
            "layer": layer, "before": state_of(b)}


def real_params(params: Any, accounts: dict[str, Any]) -> Any:
    """The model's minimal input with B's real digests and a well-formed upload id, so the
    input is valid and permission is what decides (ECR checks the input first)."""
    if isinstance(params, list):
        return [real_params(p, accounts) for p in params]
    if not isinstance(params, dict):
        return params
    out = {k: real_params(v, accounts) for k, v in params.items()}
    for key, value in {"uploadId": "0b9c2f4e-8d1a-4f6b-9c3e-2a7d5e1f0c4b",
                       "layerDigest": accounts["layer"], "layerDigests": [accounts["layer"]],
                       "imageDigest": accounts["manifest"]}.items():
        if key in out:
            out[key] = value
    return out


REPOSITORY_LEVEL = sorted(op for op, scope in operation_scopes().items() if scope != "registry")
