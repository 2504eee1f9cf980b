"""Accounts are isolated under randomized requests, against a running lab: hypothesis draws
requests from account A (the lab's administrator) and from nobody at all, on the ECR API
(boto3, any operation of botocore's model, `registryId` B, A or none, B's real names and
digests mixed with others) and on `/v2/` (any method and route, at B's registry or A's, with
A's token, none or a forged one, B's repository and digests or A's, blob mounts from B's
repository). Whatever is drawn, nothing of B's is read, listed or changed: at B's registry
nothing succeeds; at A's registry B's image and layer are unknown (a mount from B's repository
does not mount, a layer check does not find B's layer); the lab never answers 500; at the end
B's repository, images, policy, tags and lifecycle state are as they were, and B still reads
its own image.

The sweep over every operation and route is test_lab_isolation.py; this is its randomized
half (the issue's "randomized requests from account A never read, list or change account B's
data without a grant")."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError, ParamValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.lab.isolation import REPO, REPOSITORY_LEVEL, real_params, state_of
from tests.unit.access.test_actions import params_for

FOREIGN = st.sampled_from(["mine", "nothing-here", "secret", "secret/app/..", "SECRET/APP"])
SERVER_ERRORS = ("InternalServerError", "ServerException", "InternalFailure")
TOO_MANY = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


def _digest(accounts: dict[str, Any]) -> st.SearchStrategy[str]:
    return st.sampled_from([accounts["manifest"], accounts["layer"], "sha256:" + "0" * 64,
                            "sha256:zz", "v1"])


def _leaks(op: str, body: dict[str, Any], accounts: dict[str, Any]) -> list[str]:
    """What a successful answer at A's registry says of B's image or layer (nothing, else)."""
    found = []
    text = json.dumps(body, default=str)
    if accounts["b_id"] in text:
        found.append(f"{op} names account B")
    for layer in body.get("layers", []):  # BatchCheckLayerAvailability
        if layer.get("layerDigest") in (accounts["layer"], accounts["manifest"]) and \
                layer.get("layerAvailability") == "AVAILABLE":
            found.append(f"{op}: B's blob is AVAILABLE in A's repository")
    if op == "GetDownloadUrlForLayer":
        found.append(f"{op}: a download URL for {body.get('layerDigest')}")
    for image in body.get("images", []):  # BatchGetImage
        if image.get("imageId", {}).get("imageDigest") == accounts["manifest"]:
            found.append(f"{op}: B's image")
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=TOO_MANY)
@given(data=st.data())
def api_calls_of_a(accounts: dict[str, Any], data: st.DataObject) -> None:
    """One drawn ECR API call of A's."""
    a, b_id = accounts["a"], accounts["b_id"]
    op = data.draw(st.sampled_from(REPOSITORY_LEVEL), label="operation")
    params = real_params(params_for(a, op, b_id), accounts)
    shape = a.meta.service_model.operation_model(op).input_shape
    members = shape.members if shape is not None else {}
    registry = data.draw(st.sampled_from([b_id, b_id, "A", None]), label="registryId")
    if "registryId" in members:
        params.pop("registryId", None)
        if registry == "A":
            params["registryId"] = accounts["lab"].account_id
        elif registry is not None:
            params["registryId"] = registry
    if "repositoryName" in params:
        params["repositoryName"] = data.draw(st.one_of(st.just(REPO), FOREIGN), label="repo")
    for key in ("imageDigest", "layerDigest"):
        if key in params:
            params[key] = data.draw(_digest(accounts), label=key)
    method = next(k for k, v in a.meta.method_to_api_mapping.items() if v == op)
    at_b = params.get("registryId") == b_id or b_id in str(params.get("resourceArn", ""))
    try:
        body = getattr(a, method)(**params)
    except ParamValidationError:
        return  # refused by boto3 before it was sent
    except ClientError as e:
        code = e.response["Error"]["Code"]
        assert code not in SERVER_ERRORS, (op, params, e.response["Error"])
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] < 500, (op, e.response)
        return
    assert not at_b, f"{op} at B's registry answered without a grant: {params}"
    body.pop("ResponseMetadata", None)
    assert _leaks(op, body, accounts) == [], (op, params)


def _auth(accounts: dict[str, Any]) -> tuple[str, str] | None:
    if "auth" not in accounts:
        token = accounts["a"].get_authorization_token()["authorizationData"][0][
            "authorizationToken"]
        accounts["auth"] = tuple(base64.b64decode(token).decode().split(":", 1))
    return accounts["auth"]


@settings(max_examples=250, deadline=None, suppress_health_check=TOO_MANY)
@given(data=st.data())
def registry_requests(accounts: dict[str, Any], data: st.DataObject) -> None:
    """One drawn `/v2/` request, at B's registry or A's."""
    lab, b = accounts["lab"], accounts["b"]
    if "b_registry" not in accounts:
        accounts["b_registry"] = b.describe_repositories()["repositories"][0][
            "repositoryUri"].split("/")[0]
    at_b = data.draw(st.booleans(), label="at B's registry")
    host = accounts["b_registry"] if at_b else lab.registry
    repo = data.draw(st.one_of(st.just(REPO), FOREIGN), label="repository")
    digest = data.draw(_digest(accounts), label="digest")
    route = data.draw(st.sampled_from([
        f"{repo}/manifests/{digest}", f"{repo}/blobs/{digest}", f"{repo}/blobs/uploads/",
        f"{repo}/blobs/uploads/?digest={digest}", f"{repo}/blobs/uploads/?mount={digest}&from={REPO}",
        f"{repo}/blobs/uploads/0b9c2f4e-8d1a-4f6b-9c3e-2a7d5e1f0c4b", f"{repo}/tags/list",
        f"{repo}/referrers/{digest}", "_catalog"]), label="route")
    method = data.draw(st.sampled_from(["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"]),
                       label="method")
    who = data.draw(st.sampled_from(["A", "nobody", "forged"]), label="credentials")
    auth = {"A": _auth(accounts), "nobody": None, "forged": ("AWS", "bm90IGEgdG9rZW4=")}[who]
    body = data.draw(st.sampled_from([b"", b"{}", b"x" * 100]), label="body")
    r = requests.request(method, f"http://{host}/v2/{route}", auth=auth, data=body or None,
                         timeout=10, allow_redirects=False)
    where = f"{who}: {method} {'B' if at_b else 'A'}:/v2/{route}"
    assert r.status_code < 500, (where, r.status_code, r.text[:300])
    assert b"account b's private layer" not in r.content, where
    if at_b:
        ok = r.status_code < 300 and not (route == "_catalog" and
                                          r.json().get("repositories") == [])
        assert not ok and r.status_code not in (301, 302, 303, 307, 308), \
            (where, r.status_code, r.text[:300])
        return
    if r.status_code < 400 and method in ("GET", "HEAD") and route != "_catalog" \
            and digest in (accounts["manifest"], accounts["layer"]):
        pytest.fail(f"B's content answered at A's registry: {where} -> {r.status_code}")
    if "mount=" in route:
        assert r.status_code != 201, f"a blob of B's mounted into A's repository: {where}"


def test_randomized_requests_from_a_never_reach_bs_data(accounts: dict[str, Any]) -> None:
    api_calls_of_a(accounts)
    registry_requests(accounts)
    assert state_of(accounts["b"]) == accounts["before"]
    got = accounts["b"].batch_get_image(repositoryName=REPO,
                                        imageIds=[{"imageTag": "v1"}])["images"]
    assert [i["imageId"]["imageDigest"] for i in got] == [accounts["manifest"]]
