"""Accounts are isolated, on the ECR API and on `/v2/`, against a running lab with boto3 and
plain HTTP: account A (the lab's administrator) calls EVERY repository-level operation of
botocore's ECR model against account B's repository (`registryId` = B), and every `/v2/` route
against B's registry with A's own registry token; without a grant each is refused and B's
repository, images, tags, policy and blobs are as they were. A blob digest of B's image is not
readable through B's repository by A, nor through A's own registry."""

from __future__ import annotations

import base64
from typing import Any

import requests
from botocore.exceptions import ClientError

from tests.integration.lab.isolation import REPO, REPOSITORY_LEVEL, real_params, state_of
from tests.unit.access.test_actions import params_for


def test_every_repository_operation_of_a_on_bs_repository_is_refused(
        accounts: dict[str, Any]) -> None:
    a, b_id = accounts["a"], accounts["b_id"]
    model = a.meta.service_model
    allowed: list[str] = []
    tried: list[str] = []
    for op in REPOSITORY_LEVEL:
        shape = model.operation_model(op).input_shape
        params = real_params(params_for(a, op, b_id), accounts)
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
    assert state_of(accounts["b"]) == accounts["before"]


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
    assert state_of(b) == accounts["before"]
