"""The lab's own endpoints (`/_labkit/`, labkit/lab/server/admin.py) against a real lab, over
real HTTP: only a request signed with the home's secret, fresh and used once, with a JSON body
said to be JSON, and not sent by another site's page, gets anything done. Every refusal says
why, and leaves the lab as it was (token lifetime, clock, still running)."""

from __future__ import annotations

import dataclasses
import json
import secrets
import shutil
import subprocess
import time
from typing import Any

import pytest
import requests

from labkit.lab.auth.admin import WINDOW, authorization
from labkit.lab.process import Lab, LabError

# (method, path, query, JSON document) of every endpoint, with requests that would change the lab
ENDPOINTS: list[tuple[str, str, str, Any]] = [
    ("GET", "/_labkit/status", "", None),
    ("GET", "/_labkit/trace", "since=0", None),
    ("GET", "/_labkit/operations", "", None),
    ("POST", "/_labkit/settings", "", {"token_ttl": 7}),
    ("GET", "/_labkit/clock", "", None),
    ("POST", "/_labkit/clock", "", {"advance": 86400}),
    ("POST", "/_labkit/lifecycle/run", "", None),
    ("POST", "/_labkit/gc", "", None),
    ("POST", "/_labkit/shutdown", "", {"pid": "PID"}),
    ("GET", "/_labkit/no-such-endpoint", "", None),
]
IDS = [f"{m} {p}" for m, p, _, _ in ENDPOINTS]


def secret_of(lab: Any) -> bytes:
    return (lab.home / "secret.key").read_bytes()


def body_of(lab: Any, doc: Any) -> bytes:
    if doc is None:
        return b""
    return json.dumps({k: (lab.pid if v == "PID" else v) for k, v in doc.items()}).encode()


def send(lab: Any, method: str, path: str, query: str = "", body: bytes = b"",
         headers: dict[str, str] | None = None, secret: bytes | None = None,
         content_type: str | None = "application/json", **sign: Any) -> requests.Response:
    """One raw request; signed with `secret` when given, exactly as sent."""
    out = dict(headers or {})
    if body and content_type:
        out["Content-Type"] = content_type
    if secret is not None:
        out["Authorization"] = authorization(secret, method, path, query, body, **sign)
    url = f"{lab.endpoint_url}{path}{'?' + query if query else ''}"
    return requests.request(method, url, data=body or None, headers=out, timeout=10)


def state(lab: Any) -> tuple[float, float, int]:
    """What the refused requests would have changed, read with the home's secret."""
    status = lab.status(timeout=10)
    return status["token_ttl"], lab.clock()["offset"], status["pid"]


@pytest.fixture()
def before(lab: Any) -> tuple[float, float, int]:
    return state(lab)


@pytest.mark.parametrize(("method", "path", "query", "doc"), ENDPOINTS, ids=IDS)
def test_an_unsigned_request_is_refused_and_changes_nothing(lab, before, method, path, query,
                                                           doc) -> None:
    r = send(lab, method, path, query, body_of(lab, doc))
    assert r.status_code == 401, r.text
    assert "need the lab's secret" in r.json()["error"]
    assert "LABKIT_HOME/secret.key" in r.json()["error"]
    assert r.headers["WWW-Authenticate"].startswith("Labkit ")
    assert state(lab) == before


@pytest.mark.parametrize(("method", "path", "query", "doc"), ENDPOINTS, ids=IDS)
def test_another_secret_opens_nothing(lab, before, method, path, query, doc) -> None:
    r = send(lab, method, path, query, body_of(lab, doc), secret=secrets.token_bytes(32))
    assert r.status_code == 401, r.text
    assert "does not match this lab's secret" in r.json()["error"]
    assert state(lab) == before


@pytest.mark.parametrize("auth", ["Basic QVdTOnNlY3JldA==", "Bearer abc",
                                  "AWS4-HMAC-SHA256 Credential=x", "Labkit sig=x"])
def test_other_credentials_open_nothing(lab, before, auth: str) -> None:
    r = send(lab, "POST", "/_labkit/settings", body=b'{"token_ttl": 7}',
             headers={"Authorization": auth})
    assert r.status_code == 401 and r.json()["error"]
    assert state(lab) == before


def test_a_signed_request_works_once(lab, before) -> None:
    body = json.dumps({"token_ttl": before[0]}).encode()
    header = authorization(secret_of(lab), "POST", "/_labkit/settings", "", body)
    headers = {"Authorization": header, "Content-Type": "application/json"}
    url = f"{lab.endpoint_url}/_labkit/settings"
    first = requests.post(url, data=body, headers=headers, timeout=10)
    assert first.status_code == 200, first.text
    again = requests.post(url, data=body, headers=headers, timeout=10)
    assert again.status_code == 401 and "already used" in again.json()["error"]


def test_a_request_altered_on_the_way_is_refused(lab, before) -> None:
    header = authorization(secret_of(lab), "POST", "/_labkit/settings", "",
                           b'{"token_ttl": 43200}')
    r = requests.post(f"{lab.endpoint_url}/_labkit/settings", data=b'{"token_ttl": 7}',
                      headers={"Authorization": header, "Content-Type": "application/json"},
                      timeout=10)
    assert r.status_code == 401 and "does not match" in r.json()["error"]
    assert state(lab) == before


@pytest.mark.parametrize("age", [WINDOW + 60, -(WINDOW + 60)])
def test_a_stale_request_is_refused(lab, before, age: float) -> None:
    r = send(lab, "POST", "/_labkit/settings", body=b'{"token_ttl": 7}',
             secret=secret_of(lab), now=time.time() - age)
    assert r.status_code == 401 and "sign a fresh one" in r.json()["error"]
    assert state(lab) == before


CROSS_SITE = [{"Origin": "http://evil.example"}, {"Origin": "null"},
              {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
              {"Origin": "http://localhost:8888", "Sec-Fetch-Site": "same-site"}]


@pytest.mark.parametrize("browser", CROSS_SITE, ids=[str(h) for h in CROSS_SITE])
@pytest.mark.parametrize(("method", "path", "query", "doc"),
                         [*ENDPOINTS, ("GET", "/_labkit/whoami", "challenge=" + "c" * 32, None)],
                         ids=[*IDS, "GET /_labkit/whoami"])
def test_a_cross_site_browser_request_gets_nothing(lab, before, browser, method, path, query,
                                                   doc) -> None:
    """Even signed (a page cannot sign, but it must not matter): refused, nothing done."""
    r = send(lab, method, path, query, body_of(lab, doc), headers=browser,
             secret=secret_of(lab))
    assert r.status_code == 403, r.text
    assert set(r.json()) == {"error"} and "refused" in r.json()["error"]
    assert "Access-Control-Allow-Origin" not in r.headers
    assert state(lab) == before


def test_the_labs_own_pages_may_call_it(lab) -> None:
    """What an instructor's board served by the lab will send: its own Origin, same-origin."""
    own = {"Origin": lab.endpoint_url, "Sec-Fetch-Site": "same-origin"}
    r = send(lab, "GET", "/_labkit/status", headers=own, secret=secret_of(lab))
    assert r.status_code == 200 and r.json()["pid"] == lab.pid


FORMS = ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain",
         "application/jsonp", None]


@pytest.mark.parametrize("content_type", FORMS)
def test_a_body_not_sent_as_json_is_refused_signed_or_not(lab, before, content_type) -> None:
    body = b'{"token_ttl": 7}'  # what a text/plain form can carry
    for secret in (secret_of(lab), None):
        r = send(lab, "POST", "/_labkit/settings", body=body, secret=secret,
                 content_type=content_type)
        assert r.status_code == 415, r.text
        assert "Content-Type: application/json" in r.json()["error"]
    assert state(lab) == before


def test_an_empty_form_post_is_refused(lab, before) -> None:
    """An HTML form with no fields still says what it is."""
    r = requests.post(f"{lab.endpoint_url}/_labkit/gc", timeout=10,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    assert state(lab) == before


def test_a_large_body_is_refused_unread(lab, before) -> None:
    r = send(lab, "POST", "/_labkit/settings", body=b" " * (1 << 20) + b'{"token_ttl": 7}',
             secret=secret_of(lab))
    assert r.status_code == 413
    assert state(lab) == before


def test_curl_without_the_secret_gets_nothing(lab, before) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "-X", "POST",
                          "-H", "Content-Type: application/json", "-d", '{"token_ttl": 7}',
                          f"{lab.endpoint_url}/_labkit/settings"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    body, status = out.rsplit("\n", 1)
    assert status == "401" and "need the lab's secret" in json.loads(body)["error"]
    assert state(lab) == before


def test_the_client_signs_with_the_homes_secret(lab) -> None:
    """labkit's own client: every endpoint, through the methods the course and CLI use."""
    mark = lab.trace_mark()
    assert lab.status()["pid"] == lab.pid
    original = lab.status()["token_ttl"]
    try:
        lab.set_token_ttl(99)
        assert lab.status()["token_ttl"] == 99
    finally:
        lab.set_token_ttl(original)
    requests.get(f"{lab.endpoint_url}/v2/", timeout=10)  # one registry request to trace
    assert any(r.path == "/v2/" for r in lab.trace(mark))
    assert isinstance(lab.operations(), dict)
    assert lab.reset_clock()["offset"] == 0
    assert lab.advance_clock(hours=1)["offset"] == pytest.approx(3600)
    assert lab.clock()["offset"] == pytest.approx(3600)
    lab.reset_clock()
    assert isinstance(lab.run_lifecycle(), list)
    assert lab.collect_garbage() >= 0


def test_a_client_with_another_homes_secret_gets_a_clear_error(lab, tmp_path) -> None:
    (tmp_path / "secret.key").write_bytes(secrets.token_bytes(32))
    stranger = dataclasses.replace(lab, home=tmp_path)
    with pytest.raises(LabError, match="does not match this lab's secret"):
        stranger.status()
    with pytest.raises(LabError, match="secret.key"):
        dataclasses.replace(lab, home=tmp_path / "nothing-here").set_token_ttl(7)
    assert isinstance(stranger, Lab)
