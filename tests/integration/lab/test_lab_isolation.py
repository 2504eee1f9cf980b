"""Accounts are isolated, on the ECR API and on `/v2/`, against a running lab with boto3 and
plain HTTP: account A (the lab's administrator) calls EVERY repository-level operation of
botocore's ECR model against account B's repository (`registryId` = B), and every `/v2/` route
against B's registry with A's own registry token; without a grant each is refused and B's
repository, images, tags, policy and blobs are as they were. A blob digest of B's image is not
readable through B's repository by A, nor through A's own registry."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from labkit import config
from labkit.lab.access.actions import operation_scopes
from tests.unit.access.test_actions import params_for

REPO = "secret/app"


def _client(lab: Any, key: str, secret: str) -> Any:
    return boto3.client("ecr", endpoint_url=lab.endpoint_url, region_name=lab.region,
                        aws_access_key_id=key, aws_secret_access_key=secret)


def _push(ecr: Any, repo: str) -> tuple[str, str]:
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


def _state(ecr: Any) -> dict[str, Any]:
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
    b = _client(lab, made["access_key_id"], made["secret_access_key"])
    b.create_repository(repositoryName=REPO)
    manifest, layer = _push(b, REPO)
    a = _client(lab, config.LAB_ACCESS_KEY, config.LAB_SECRET_KEY)
    a.create_repository(repositoryName="mine")
    return {"lab": lab, "a": a, "b": b, "b_id": made["account_id"], "manifest": manifest,
            "layer": layer, "before": _state(b)}


def _real(params: Any, accounts: dict[str, Any]) -> Any:
    """The model's minimal input with B's real digests and a well-formed upload id, so the
    input is valid and permission is what decides (ECR checks the input first)."""
    if isinstance(params, list):
        return [_real(p, accounts) for p in params]
    if not isinstance(params, dict):
        return params
    out = {k: _real(v, accounts) for k, v in params.items()}
    for key, value in {"uploadId": "0b9c2f4e-8d1a-4f6b-9c3e-2a7d5e1f0c4b",
                       "layerDigest": accounts["layer"], "layerDigests": [accounts["layer"]],
                       "imageDigest": accounts["manifest"]}.items():
        if key in out:
            out[key] = value
    return out


REPOSITORY_LEVEL = sorted(op for op, scope in operation_scopes().items() if scope != "registry")


def test_every_repository_operation_of_a_on_bs_repository_is_refused(
        accounts: dict[str, Any]) -> None:
    a, b_id = accounts["a"], accounts["b_id"]
    model = a.meta.service_model
    allowed: list[str] = []
    tried: list[str] = []
    for op in REPOSITORY_LEVEL:
        shape = model.operation_model(op).input_shape
        params = _real(params_for(a, op, b_id), accounts)
        if shape is not None and "registryId" in shape.members:
            params["registryId"] = b_id
        elif "resourceArn" not in params:
            continue  # it names no registry: it acts on A's own
        method = next(k for k, v in a.meta.method_to_api_mapping.items() if v == op)
        tried.append(op)
        try:
            getattr(a, method)(**params)
            allowed.append(op)
        except ClientError as e:
            code = e.response["Error"]["Code"]
            if code != "AccessDeniedException":
                allowed.append(f"{op}: {code} {e.response['Error'].get('Message', '')[:120]}")
            else:
                assert "because no resource-based policy allows" in \
                    e.response["Error"]["Message"], (op, e.response["Error"]["Message"])
    assert allowed == [], f"answered without a grant: {allowed}"
    # the image's and the layers' operations, the policies', the tags' (a third of the model)
    assert {"BatchGetImage", "GetDownloadUrlForLayer", "PutImage", "InitiateLayerUpload",
            "SetRepositoryPolicy", "DeleteRepository", "TagResource"} <= set(tried), tried
    assert _state(accounts["b"]) == accounts["before"]


def test_every_registry_route_of_a_at_bs_registry_is_refused(accounts: dict[str, Any]) -> None:
    lab, a, b = accounts["lab"], accounts["a"], accounts["b"]
    token = a.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    auth = tuple(base64.b64decode(token).decode().split(":", 1))
    b_registry = b.describe_repositories()["repositories"][0]["repositoryUri"].split("/")[0]
    base = f"http://{b_registry}/v2"
    m, layer = accounts["manifest"], accounts["layer"]
    oci = "application/vnd.oci.image.manifest.v1+json"
    asks = [
        ("GET", f"{base}/_catalog", {}), ("GET", f"{base}/{REPO}/tags/list", {}),
        ("GET", f"{base}/{REPO}/manifests/v1", {}), ("HEAD", f"{base}/{REPO}/manifests/v1", {}),
        ("GET", f"{base}/{REPO}/manifests/{m}", {}),
        ("PUT", f"{base}/{REPO}/manifests/v2", {"data": b"{}",
                                                  "headers": {"Content-Type": oci}}),
        ("DELETE", f"{base}/{REPO}/manifests/{m}", {}),
        ("GET", f"{base}/{REPO}/blobs/{layer}", {}), ("HEAD", f"{base}/{REPO}/blobs/{layer}", {}),
        ("DELETE", f"{base}/{REPO}/blobs/{layer}", {}),
        ("POST", f"{base}/{REPO}/blobs/uploads/", {}),
        ("POST", f"{base}/{REPO}/blobs/uploads/?digest={layer}", {"data": b"x"}),
        ("POST", f"{base}/{REPO}/blobs/uploads/?mount={layer}&from=mine", {}),
        ("GET", f"{base}/{REPO}/referrers/{m}", {}),
    ]
    answered = []
    for method, url, kw in asks:
        r = requests.request(method, url, auth=auth, timeout=10, **kw)
        if r.status_code != 403:
            answered.append(f"{method} {url.removeprefix(base)}: {r.status_code}")
        elif method != "HEAD" and "_catalog" not in url:
            assert "because no resource-based policy allows" in r.text, (url, r.text)
    catalog = requests.get(f"{base}/_catalog", auth=auth, timeout=10)
    assert catalog.status_code == 403 or catalog.json().get("repositories") == [], catalog.text
    answered = [x for x in answered if not x.startswith("GET /_catalog: 200")]
    assert answered == [], f"answered without a grant: {answered}"
    # B's layer is not in A's registry either: the stores are apart
    own = requests.get(f"{lab.endpoint_url}/v2/mine/blobs/{layer}", auth=auth, timeout=10)
    assert own.status_code == 404 and own.json()["errors"][0]["code"] == "BLOB_UNKNOWN"
    assert _state(b) == accounts["before"]
