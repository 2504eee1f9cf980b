"""Authentication under hostile use (issue 5), extending tests/integration/lab/test_lab_auth.py:
every route (sessions included, on real objects) refuses missing, wrong, forged and foreign
credentials with 401 and expired ones with 403 DENIED, and changes nothing when it refuses;
the lab binds loopback unless told otherwise, and then says so loudly."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from labkit.lab import process
from tests.conftest import ShortTokens, free_port, unique
from tests.reliability import support

pytestmark = pytest.mark.reliability
EXPIRED = "Your authorization token has expired. Reauthenticate and try again."


@pytest.fixture(scope="module")
def objects(lab) -> dict[str, str]:
    """A repository holding an image, and an open upload session in it."""
    repo = unique("auth/real")
    support.ecr(lab).create_repository(repositoryName=repo)
    reg = support.Registry(lab)
    image = reg.push_image(repo, "v1", [b"auth-layer" * 50])
    session = reg.start_upload(repo).removeprefix(lab.endpoint_url)
    reg.request("PATCH", session, data=b"12345", headers={"Content-Range": "0-4"})
    return {"repo": repo, "layer": next(d for d, b in image.blobs.items() if b.startswith(
        b"auth-layer")), "manifest": image.digest, "session": session}


def routes(o: dict[str, str]) -> list[tuple[str, str]]:
    repo, layer, manifest, session = o["repo"], o["layer"], o["manifest"], o["session"]
    return [("GET", "/v2/"), ("HEAD", "/v2/"), ("GET", "/v2/_catalog"),
            ("GET", f"/v2/{repo}/tags/list"),
            ("GET", f"/v2/{repo}/manifests/v1"), ("HEAD", f"/v2/{repo}/manifests/{manifest}"),
            ("PUT", f"/v2/{repo}/manifests/forged"), ("DELETE", f"/v2/{repo}/manifests/{manifest}"),
            ("DELETE", f"/v2/{repo}/manifests/v1"),
            ("GET", f"/v2/{repo}/blobs/{layer}"), ("HEAD", f"/v2/{repo}/blobs/{layer}"),
            ("DELETE", f"/v2/{repo}/blobs/{layer}"),
            ("POST", f"/v2/{repo}/blobs/uploads/"),
            ("POST", f"/v2/{repo}/blobs/uploads/?mount={layer}&from={repo}"),
            ("POST", f"/v2/{repo}/blobs/uploads/?digest={layer}"),
            ("GET", session), ("PATCH", session), ("PUT", f"{session}?digest={layer}"),
            ("DELETE", session), ("GET", f"/v2/{repo}/referrers/{manifest}")]


def body_for(method: str) -> bytes | None:
    return b"67890" if method in ("PATCH", "PUT", "POST") else None


def assert_untouched(lab, o: dict[str, str]) -> None:
    """Refused requests changed nothing: the image, its tag and the session are as they were."""
    reg = support.Registry(lab)
    r = reg.request("GET", f"/v2/{o['repo']}/manifests/v1", headers={"Accept": "*/*"})
    assert r.status_code == 200 and r.headers["Docker-Content-Digest"] == o["manifest"]
    assert reg.request("GET", f"/v2/{o['repo']}/tags/list").json()["tags"] == ["v1"]
    assert reg.head_blob(o["repo"], o["layer"]) == 200
    status = reg.request("GET", o["session"])
    assert status.status_code == 204 and status.headers["Range"] == "0-4"


def forged(password: str) -> str:
    """The same token with its expiry pushed a year out (the signature no longer matches)."""
    doc = json.loads(base64.b64decode(password))
    doc["expiration"] = int(doc["expiration"]) + 365 * 86400
    return base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()


@pytest.fixture(scope="module")
def other_lab(tmp_path_factory) -> Iterator[object]:
    home = tmp_path_factory.mktemp("other-lab") / "home"
    other = process.start(home, port=free_port())
    yield other
    process.stop(home)


def test_every_route_refuses_wrong_credentials_and_changes_nothing(lab, objects,
                                                                   other_lab) -> None:
    _, password = support.credentials(lab)
    _, foreign = support.credentials(other_lab)
    bad = {"none": None, "wrong password": support.basic_header("AWS", "not-a-token"),
           "wrong user": support.basic_header("root", password),
           "empty password": support.basic_header("AWS", ""),
           "bearer scheme": f"Bearer {password}",
           "not base64": "Basic %%%not-base64%%%",
           "forged expiry": support.basic_header("AWS", forged(password)),
           "another lab's token": support.basic_header("AWS", foreign)}
    seen = 0
    for label, header in bad.items():
        for method, path in routes(objects):
            headers = {"Authorization": header} if header else {}
            r = requests.request(method, lab.endpoint_url + path, headers=headers,
                                 data=body_for(method), timeout=10)
            assert r.status_code == 401, (label, method, path, r.status_code, r.text[:200])
            assert 'service="ecr.amazonaws.com"' in r.headers["WWW-Authenticate"]
            if method != "HEAD":  # ECR's 401 body (tests/fixtures/ecr_messages.json)
                assert r.text == "Not Authorized\n", (label, method, path, r.text[:200])
                assert r.headers["Content-Type"].startswith("text/plain")
            seen += 1
    assert seen == len(bad) * len(routes(objects))
    assert_untouched(lab, objects)


def test_every_route_denies_an_expired_token_and_changes_nothing(lab, objects) -> None:
    with ShortTokens(lab) as short:
        _, password = support.credentials(lab)
        header = support.basic_header("AWS", password)
        assert requests.get(lab.endpoint_url + "/v2/", headers={"Authorization": header},
                            timeout=10).status_code == 200
        short.expire()
        for method, path in routes(objects):
            r = requests.request(method, lab.endpoint_url + path,
                                 headers={"Authorization": header}, data=body_for(method),
                                 timeout=10)
            assert r.status_code == 403, (method, path, r.status_code, r.text[:200])
            if method != "HEAD":
                assert r.json() == {"errors": [{"code": "DENIED", "message": EXPIRED}]}
    assert_untouched(lab, objects)


def listening(port: int) -> set[str]:
    """Local IPv4 addresses with a listening TCP socket on `port` (from /proc/net/tcp)."""
    out = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, _, hexport = local.partition(":")
        if state == "0A" and int(hexport, 16) == port:
            out.add(".".join(str(b) for b in reversed(bytes.fromhex(address))))
    return out


def test_the_lab_listens_on_loopback_only_by_default(lab) -> None:
    assert listening(lab.port) == {"127.0.0.1"}


def test_binding_all_interfaces_is_allowed_but_loud(tmp_path) -> None:
    """`labkit lab up --host 0.0.0.0` binds all interfaces and warns where the learner looks.
    No traffic goes anywhere but 127.0.0.1."""
    home, port = tmp_path / "home", free_port()
    cmd = [sys.executable, "-m", "labkit", "lab", "up", "--home", str(home), "--host", "0.0.0.0",
           "--port", str(port)]
    up = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    try:
        assert up.returncode == 0, up.stderr
        assert "WARNING" in up.stderr and "0.0.0.0" in up.stderr, up.stderr
        assert listening(port) == {"0.0.0.0"}
        running = process.running(home)
        assert running is not None and running.endpoint_url == f"http://127.0.0.1:{port}"
        assert running.status()["host"] == "0.0.0.0"
    finally:
        process.stop(home)
