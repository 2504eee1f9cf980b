"""The lab's HTTP front door (labkit/lab/server/frontdoor.py) against a running lab of its own:
keep-alive, a silent client cut after the idle timeout (one log line), a bad request line and
a TLS hello refused with 400 at once, a client reset mid-upload (one log line). After each, the
lab answers and its log holds no traceback.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labkit.oci import digest as dg
from tests.conftest import free_port
from tests.reliability import support

pytestmark = pytest.mark.reliability
IDLE = 2  # LABKIT_IDLE_TIMEOUT of this module's lab, in seconds


@pytest.fixture(scope="module")
def idle_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from labkit.lab import process

    home = tmp_path_factory.mktemp("frontdoor") / "home"
    mp = pytest.MonkeyPatch()
    mp.setenv("LABKIT_IDLE_TIMEOUT", str(IDLE))
    try:
        lab = process.start(home, port=free_port())
    finally:
        mp.undo()
    yield lab
    process.stop(home)


def log_of(lab: Any) -> str:
    return (Path(lab.home) / "lab.log").read_text(errors="replace")


def new_log(lab: Any, before: int) -> str:
    return log_of(lab)[before:]


def wait_for(predicate: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def still_up(lab: Any) -> None:
    assert lab.status(timeout=10)["pid"] == lab.pid


def test_two_requests_travel_on_one_connection(idle_lab: Any) -> None:
    user, password = support.credentials(idle_lab)
    auth = {"Authorization": support.basic_header(user, password)}
    conn = http.client.HTTPConnection("127.0.0.1", idle_lab.port, timeout=10)
    conn.request("GET", "/v2/", headers=auth)
    first = conn.getresponse()
    first.read()
    sock = conn.sock
    assert first.status == 200
    assert (first.getheader("Connection") or "").lower() != "close"
    conn.request("GET", "/v2/_catalog", headers=auth)
    second = conn.getresponse()
    second.read()
    assert second.status == 200
    assert conn.sock is sock and sock is not None, "the second request needed a new connection"
    # a refused request without a body keeps the connection too
    conn.request("GET", "/v2/")
    third = conn.getresponse()
    third.read()
    assert third.status == 401 and conn.sock is sock
    conn.close()


def test_a_silent_client_is_cut_after_the_idle_timeout(idle_lab: Any) -> None:
    support.ecr(idle_lab).create_repository(repositoryName="frontdoor/silent")
    reg = support.Registry(idle_lab)
    location = reg.start_upload("frontdoor/silent")
    before = len(log_of(idle_lab))
    head = support.request_head("PATCH", location.removeprefix(idle_lab.endpoint_url), {
        "Authorization": support.basic_header(*reg.session.auth),
        "Content-Length": str(1 << 20), "Content-Range": f"0-{(1 << 20) - 1}"},
        idle_lab.registry)
    s = socket.create_connection(("127.0.0.1", idle_lab.port), timeout=IDLE * 10)
    try:
        s.sendall(head + b"x" * 1000)  # ...and then nothing
        t0 = time.monotonic()
        answer = b""
        while chunk := s.recv(65536):  # the lab answers, then closes its end
            answer += chunk
        waited = time.monotonic() - t0
    finally:
        s.close()
    assert IDLE * 0.8 <= waited < IDLE * 5, f"cut after {waited:.1f}s, idle timeout {IDLE}s"
    assert answer.startswith(b"HTTP/1.1 400") and b"connection: close" in answer.lower(), \
        answer[:300]
    assert wait_for(lambda: "mid-request" in new_log(idle_lab, before))
    log = new_log(idle_lab, before)
    lines = [line for line in log.splitlines() if "sent nothing" in line]
    assert len(lines) == 1 and f"for {IDLE}s mid-request (PATCH" in lines[0], log
    assert "Traceback" not in log
    # the session's pooled connection idled as long as the silent one: the lab may be closing
    # it right now (as it should), so the next request opens a new one
    reg.session.close()
    r = reg.request("PATCH", location, data=b"y" * 10, headers={"Content-Range": "0-9"})
    assert r.status_code == 202, r.text  # the session was released, nothing half-written
    still_up(idle_lab)


@pytest.mark.parametrize("junk", [b"GARBAGE\r\n\r\n", b"GET /v2/ HTTP/9.9\r\n\r\n",
                                  b"GET /v2/ HTTP/1.1\r\nno colon here\r\n\r\n"])
def test_a_bad_request_line_gets_400_and_the_lab_stays_up(idle_lab: Any, junk: bytes) -> None:
    """The server's HTTP layer answers what is not HTTP itself (the app never sees it), then
    closes the connection; the lab logs no traceback and keeps serving."""
    before = len(log_of(idle_lab))
    with socket.create_connection(("127.0.0.1", idle_lab.port), timeout=10) as s:
        s.sendall(junk)
        answer = read_to_end(s)
    status = answer.split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 40") or status.startswith(b"HTTP/1.1 505"), answer
    assert b"connection: close" in answer.lower(), answer
    still_up(idle_lab)
    assert "Traceback" not in new_log(idle_lab, before)


def read_to_end(s: socket.socket) -> bytes:
    answer = b""
    while chunk := s.recv(65536):
        answer += chunk
    return answer


def client_hello() -> bytes:
    """The first flight of a real TLS client (Python's ssl), as docker's HTTPS probe sends."""
    ctx = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def test_a_tls_hello_gets_400_at_once(idle_lab: Any) -> None:
    """docker and skopeo try HTTPS first: an answer at once (not a wait for a request line
    that never comes) is what they fall back to plain HTTP on."""
    before = len(log_of(idle_lab))
    hello = client_hello()
    assert hello[0] == 0x16
    with socket.create_connection(("127.0.0.1", idle_lab.port), timeout=IDLE * 10) as s:
        t0 = time.monotonic()
        s.sendall(hello)
        answer = s.recv(4096)
        waited = time.monotonic() - t0
    assert answer.startswith(b"HTTP/1.1 400"), answer
    assert waited < IDLE, "the lab waited for a request line instead of answering the hello"
    # and a real TLS client gets the error a registry client falls back to HTTP on
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", idle_lab.port), timeout=10) as raw:
        with pytest.raises(ssl.SSLError):
            ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    still_up(idle_lab)
    assert "Traceback" not in new_log(idle_lab, before)


def test_a_client_reset_mid_upload_loses_nothing(idle_lab: Any) -> None:
    repo = "frontdoor/reset"
    support.ecr(idle_lab).create_repository(repositoryName=repo)
    reg = support.Registry(idle_lab)
    data = os.urandom(3 << 20)
    digest, prefix = dg.of_bytes(data), 1 << 20
    location = reg.start_upload(repo)
    r = reg.request("PATCH", location, data=data[:prefix],
                    headers={"Content-Range": f"0-{prefix - 1}"})
    assert r.status_code == 202
    before = len(log_of(idle_lab))
    head = support.request_head("PATCH", location.removeprefix(idle_lab.endpoint_url), {
        "Authorization": support.basic_header(*reg.session.auth),
        "Content-Length": str(len(data) - prefix),
        "Content-Range": f"{prefix}-{len(data) - 1}"}, idle_lab.registry)
    s = socket.create_connection(("127.0.0.1", idle_lab.port), timeout=10)
    s.sendall(head + data[prefix:prefix + 700_000])
    time.sleep(0.2)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # RST: a killed client
    assert wait_for(lambda: "went away mid-request" in new_log(idle_lab, before)
                    or "body ended" in new_log(idle_lab, before))
    r = reg.request("GET", location)  # the upload's status: only the first chunk counts
    assert r.status_code == 204 and r.headers["Range"] == f"0-{prefix - 1}", r.headers
    r = reg.request("PATCH", location, data=data[prefix:],
                    headers={"Content-Range": f"{prefix}-{len(data) - 1}"})
    assert r.status_code == 202, r.text
    r = reg.request("PUT", r.headers["Location"], params={"digest": digest})
    assert r.status_code == 201, r.text
    assert reg.request("GET", f"/v2/{repo}/blobs/{digest}").content == data
    log = new_log(idle_lab, before)
    assert "Traceback" not in log, log
    assert support.unexpected_errors(Path(idle_lab.home)) == []


def test_chunked_uploads_share_one_connection(idle_lab: Any) -> None:
    """A chunked body read to its last chunk leaves the connection clean for the next request."""
    repo = "frontdoor/chunked"
    support.ecr(idle_lab).create_repository(repositoryName=repo)
    reg = support.Registry(idle_lab)
    auth = {"Authorization": support.basic_header(*reg.session.auth)}
    location = reg.start_upload(repo).removeprefix(idle_lab.endpoint_url)
    data = os.urandom(300_000)
    conn = http.client.HTTPConnection("127.0.0.1", idle_lab.port, timeout=10)
    offset = 0
    sock = None
    for part in (data[:100_000], data[100_000:]):
        pieces = (part[i:i + 7000] for i in range(0, len(part), 7000))
        conn.request("PATCH", location, body=pieces, encode_chunked=True, headers={
            **auth, "Content-Range": f"{offset}-{offset + len(part) - 1}"})
        r = conn.getresponse()
        r.read()
        assert r.status == 202, r.status
        assert sock is None or conn.sock is sock, "the second PATCH needed a new connection"
        sock = conn.sock
        offset += len(part)
        location = r.getheader("Location").removeprefix(idle_lab.endpoint_url)
    conn.close()
    digest = dg.of_bytes(data)
    r = reg.request("PUT", location, params={"digest": digest})
    assert r.status_code == 201, r.text


def test_a_refused_big_upload_is_answered_at_once_and_its_connection_closed(
        idle_lab: Any) -> None:
    """401 to a 1 GiB PUT without credentials: answered without reading the GiB, and the
    connection closed (its unread body must never be parsed as a next request)."""
    head = support.request_head("PUT", "/v2/frontdoor/any/blobs/uploads/x?digest=sha256:" +
                                "0" * 64, {"Content-Length": str(1 << 30)}, idle_lab.registry)
    with socket.create_connection(("127.0.0.1", idle_lab.port), timeout=10) as s:
        s.sendall(head + b"z" * 100_000)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"connection: close" in answer.lower()
    still_up(idle_lab)


HALF_CLOSED = """
import socket, sys
from labkit.lab.server.frontdoor import FrontDoor

def app(environ, start_response):
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]

door = FrontDoor(app, "127.0.0.1", 0, threads=2)
door.prepare()
for n in (100, 8000, 70000):
    with socket.create_connection(("127.0.0.1", door.port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.1\\r\\nX: " + b"a" * n + b"\\r\\nConnection: close\\r\\n\\r\\n")
        while s.recv(65536):
            pass
with socket.create_connection(("127.0.0.1", door.port), timeout=10) as s:
    s.sendall(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
    s.shutdown(socket.SHUT_WR)  # granian closes on the end of input: no answer comes
    while s.recv(65536):
        pass
door.stop()
print("stopped")
"""


def test_a_process_ends_cleanly_after_its_front_door_stopped() -> None:
    """granian's runtime used to live as long as the server object the front door kept: at the
    interpreter's exit, work still pending in it (a client that half-closed its connection)
    aborted the process ("panic in a function that cannot unwind", 4 runs in 6). A process
    that served (pytest, a notebook, the lab) must end with its own exit status."""
    import subprocess
    import sys

    for _ in range(4):
        r = subprocess.run([sys.executable, "-c", HALF_CLOSED], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0 and r.stdout.strip() == "stopped", r.stdout + r.stderr[-2000:]
        assert "panic" not in r.stderr, r.stderr[-2000:]
        # the precursor, seen in most runs before the front door let its loop settle: a
        # request granian accepted just before the stop, handed to a loop already closed
        assert "never awaited" not in r.stderr, r.stderr[-2000:]
