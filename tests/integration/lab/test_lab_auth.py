"""The registry's front door, as raw HTTP: ECR's challenge, wrong credentials, expired tokens."""

from __future__ import annotations

import boto3
import pytest
import requests

from labkit import config
from labkit.lab import process
from tests.conftest import ShortTokens, free_port, registry_credentials


def password(ecr_client) -> str:
    return registry_credentials(ecr_client)[1]


ROUTES = [("GET", "/v2/"), ("GET", "/v2/_catalog"), ("GET", "/v2/some/repo/tags/list"),
          ("HEAD", "/v2/some/repo/manifests/latest"), ("GET", "/v2/some/repo/manifests/latest"),
          ("PUT", "/v2/some/repo/manifests/latest"),
          ("HEAD", "/v2/some/repo/blobs/sha256:" + "0" * 64),
          ("GET", "/v2/some/repo/blobs/sha256:" + "0" * 64),
          ("POST", "/v2/some/repo/blobs/uploads/"), ("DELETE", "/v2/some/repo/manifests/x")]


@pytest.mark.parametrize("method,path", ROUTES)
def test_every_route_needs_credentials(lab, ecr_client, method: str, path: str) -> None:
    url = lab.endpoint_url + path
    r = requests.request(method, url, timeout=10)
    assert r.status_code == 401
    challenge = r.headers["WWW-Authenticate"]
    assert challenge.startswith("Basic realm=") and 'service="ecr.amazonaws.com"' in challenge
    r = requests.request(method, url, auth=("AWS", "not-a-token"), timeout=10)
    assert r.status_code == 401
    r = requests.request(method, url, auth=("root", password(ecr_client)), timeout=10)
    assert r.status_code == 401


def test_expired_token_gets_denied(lab, ecr_client) -> None:
    with ShortTokens(lab) as short:
        pw = password(ecr_client)
        assert requests.get(lab.endpoint_url + "/v2/", auth=("AWS", pw), timeout=10).ok
        short.expire()
        r = requests.get(lab.endpoint_url + "/v2/", auth=("AWS", pw), timeout=10)
        assert r.status_code == 403
        assert r.json() == {"errors": [{"code": "DENIED", "message":
                                        "Your authorization token has expired. "
                                        "Reauthenticate and try again."}]}


def test_token_of_one_lab_does_not_open_another(lab, ecr_client, tmp_path) -> None:
    """...and a token keeps real time: moving a lab's clock (`labkit lab clock advance 15d`,
    for lifecycle rules) does not expire the learner's docker login."""
    other_home = tmp_path / "other-lab"
    other = process.start(other_home, port=free_port())
    try:
        pw = password(ecr_client)
        r = requests.get(other.endpoint_url + "/v2/", auth=("AWS", pw), timeout=10)
        assert r.status_code == 401
        own = registry_credentials(boto3.client(
            "ecr", endpoint_url=other.endpoint_url, region_name=other.region,
            aws_access_key_id=config.LAB_ACCESS_KEY, aws_secret_access_key=config.LAB_SECRET_KEY))
        assert other.advance_clock(days=15)["offset"] == pytest.approx(15 * 86400)
        r = requests.get(other.endpoint_url + "/v2/", auth=own, timeout=10)
        assert r.status_code == 200, r.text
    finally:
        process.stop(other_home)


def test_lab_listens_on_loopback_only(lab) -> None:
    assert lab.status()["host"] == "127.0.0.1"
