"""The front door (labkit.lab.server.frontdoor on granian, labkit.lab.server.wsgibridge) over real sockets,
with small WSGI apps in this process: bodies (Content-Length and chunked, whole, cut, broken,
silent, unread), keep-alive, HEAD, streamed answers, the environ, the port, TLS.

What granian itself does is pinned here too (pyproject pins granian to a minor version): its
embedded server's documented API, ASGI's http.disconnect for a cut or broken chunked body, the
header read timeout that closes idle connections, and HTTPS from a certificate file.
"""

from __future__ import annotations

import datetime
import hashlib
import http.client
import logging
import os
import socket
import ssl
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.lab.server.frontdoor import FrontDoor

TIMEOUT = 1.0  # the idle timeout of these servers, in seconds
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
Seen = dict[str, Any]


class Recorder:
    """A WSGI app that reads the whole body (or not, or slowly) and answers what it got."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.read = True
        self.delay = 0.0  # seconds to wait before each 1 MiB read

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ["PATH_INFO"]
        if path == "/boom":
            raise RuntimeError("a bug in the app")
        if path == "/json":  # one read(CONTENT_LENGTH), as the lab's ECR API reads a body
            data = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
            out = f"{len(data)} {hashlib.sha256(data).hexdigest()}".encode()
            start_response("200 OK", [("Content-Length", str(len(out)))])
            return [out]
        if path.startswith("/stream/"):
            blocks = int(path.rsplit("/", 1)[1])
            start_response("200 OK", [("Content-Length", str(blocks << 20))])
            return stream(blocks)
        seen: Seen = {"environ": dict(environ), "error": None, "body": b""}
        self.seen.append(seen)
        body, buf = hashlib.sha256(), bytearray(1 << 20)
        size = 0
        try:
            while self.read:
                if self.delay:
                    time.sleep(self.delay)
                n = environ["wsgi.input"].readinto(buf)
                if not n:
                    break
                body.update(buf[:n])
                size += n
                if size <= 1 << 16:
                    seen["body"] += bytes(buf[:n])
        except OSError as e:
            seen["error"] = e
            start_response("400 Bad Request", [("Content-Length", "0")])
            return []
        out = f"{size} {body.hexdigest()}".encode()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(out)))])
        return [out]


def stream(blocks: int) -> Iterator[bytes]:
    for i in range(blocks):
        yield bytes([i % 256]) * (1 << 20)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FrontDoor, Recorder]]:
    app = Recorder()
    door = FrontDoor(app, "127.0.0.1", 0, threads=4, timeout=TIMEOUT)
    door.prepare()
    thread = threading.Thread(target=door.serve, daemon=True)
    thread.start()
    yield door, app
    door.stop()
    thread.join(10)
    assert not thread.is_alive()


@pytest.fixture
def app(served: tuple[FrontDoor, Recorder]) -> Iterator[Recorder]:
    recorder = served[1]
    recorder.seen.clear()
    recorder.read, recorder.delay = True, 0.0
    yield recorder


@pytest.fixture
def port(served: tuple[FrontDoor, Recorder]) -> int:
    return served[0].port


def raw(port: int, data: bytes, shut: bool = False, timeout: float = 10) -> bytes:
    """Send `data` on a new connection; everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        return read_all(s)


def read_all(s: socket.socket) -> bytes:
    out = b""
    while chunk := s.recv(1 << 16):
        out += chunk
    return out


def chunked(pieces: list[bytes], extension: bytes = b"", trailers: bytes = b"") -> bytes:
    out = b"".join(b"%x%s\r\n%s\r\n" % (len(p), extension, p) for p in pieces if p)
    return out + b"0\r\n" + trailers + b"\r\n"


def answer_of(data: bytes, size: int, digest: str) -> bool:
    return data.endswith(f"{size} {digest}".encode())


# ---- bodies ----

@settings(max_examples=25, deadline=None)
@given(pieces=st.lists(st.binary(max_size=70_000), max_size=6),
       extension=st.sampled_from([b"", b";name=value"]),
       trailers=st.sampled_from([b"", b"X-Checksum: 1\r\n"]))
def test_a_chunked_body_arrives_whole_and_the_connection_stays_in_step(
        served: tuple[FrontDoor, Recorder], pieces: list[bytes], extension: bytes,
        trailers: bytes) -> None:
    door, _ = served
    data = b"".join(pieces)
    conn = http.client.HTTPConnection("127.0.0.1", door.port, timeout=10)
    for _ in range(2):  # the second request travels on the same connection
        conn.putrequest("PATCH", "/upload")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders(chunked(pieces, extension, trailers))
        r = conn.getresponse()
        assert r.status == 200
        assert r.read() == f"{len(data)} {hashlib.sha256(data).hexdigest()}".encode()
    sock = conn.sock
    conn.request("GET", "/after")
    assert conn.getresponse().read().startswith(b"0 ") and conn.sock is sock
    conn.close()


def test_a_content_length_body_arrives_whole(port: int, app: Recorder) -> None:
    data = os.urandom(3 << 20)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("PUT", "/blob", body=data)
    assert conn.getresponse().read() == (
        f"{len(data)} {hashlib.sha256(data).hexdigest()}".encode())
    assert app.seen[0]["environ"]["CONTENT_LENGTH"] == str(len(data))
    assert "wsgi.input_terminated" not in app.seen[0]["environ"]


def test_one_read_of_the_content_length_gets_the_whole_body(port: int) -> None:
    """wsgi.input.read(n) is a file's read: n bytes, however the server cut them up."""
    data = os.urandom(7 << 20)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/json", body=(data[i:i + 65536] for i in range(0, len(data), 65536)),
                 headers={"Content-Length": str(len(data))})
    assert conn.getresponse().read() == (
        f"{len(data)} {hashlib.sha256(data).hexdigest()}".encode())


@pytest.mark.parametrize("tail", [
    b"5\r\nhello\r\nZZ\r\n",  # a chunk size that is not hex
    b"5\r\nhelloXX\r\n",  # no CRLF after the chunk's data
])
def test_broken_chunked_framing_reaches_the_app_as_an_error(port: int, app: Recorder,
                                                            tail: bytes) -> None:
    """The body must not look whole: the registry would keep a truncated chunk."""
    answer = raw(port, b"PATCH /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 + tail)
    assert answer.startswith(b"HTTP/1.1 400"), answer
    assert isinstance(app.seen[0]["error"], ConnectionError)


@pytest.mark.parametrize("head, tail", [
    (b"Transfer-Encoding: chunked", b"5\r\nhello\r\n3\r\nab"),  # cut inside a chunk
    (b"Transfer-Encoding: chunked", b"5\r\nhello\r\n"),  # cut between chunks
    (b"Content-Length: 100", b"hello"),  # cut before Content-Length
])
def test_a_body_cut_by_the_client_is_an_error_with_one_log_line(
        port: int, app: Recorder, head: bytes, tail: bytes,
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "labkit.lab.http"):
        raw(port, b"POST /cut HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n\r\n" + tail, shut=True)
        deadline = time.monotonic() + 5
        while not app.seen or app.seen[0]["error"] is None:
            assert time.monotonic() < deadline, "the app never learnt the body was cut"
            time.sleep(0.01)
    assert isinstance(app.seen[0]["error"], ConnectionError)
    lines = [r.getMessage() for r in caplog.records if "went away mid-request" in r.getMessage()]
    assert len(lines) == 1 and "(POST /cut)" in lines[0], lines


def test_a_client_silent_mid_body_is_cut_after_the_idle_timeout(
        port: int, app: Recorder, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "labkit.lab.http"):
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT * 10) as s:
            s.sendall(b"PUT /silent HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc")
            t0 = time.monotonic()
            answer = read_all(s)  # the server answers, then closes
            waited = time.monotonic() - t0
    assert TIMEOUT * 0.8 <= waited < TIMEOUT * 5, waited
    assert answer.startswith(b"HTTP/1.1 400") and b"connection: close" in answer.lower()
    assert isinstance(app.seen[0]["error"], TimeoutError)
    lines = [r.getMessage() for r in caplog.records if "sent nothing" in r.getMessage()]
    assert len(lines) == 1 and "mid-request (PUT /silent)" in lines[0], lines


def test_a_slow_app_holds_the_client_back_instead_of_buffering(port: int, app: Recorder) -> None:
    """256 MiB sent as fast as loopback goes to an app that reads 1 MiB every 2 ms: what waits
    in between stays a few MiB (Python objects, traced), so a 1 GiB layer never sits in
    memory."""
    app.delay = 0.002
    block = os.urandom(1 << 20)
    size = 256 << 20
    tracemalloc.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("PUT", "/big", body=(block for _ in range(size >> 20)),
                     headers={"Content-Length": str(size)})
        answer = conn.getresponse().read()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    h = hashlib.sha256()
    for _ in range(size >> 20):
        h.update(block)
    assert answer == f"{size} {h.hexdigest()}".encode()
    assert peak < 24 << 20, f"peak traced memory {peak / 2**20:.1f} MiB"


# ---- keep-alive ----

def test_an_unread_big_body_closes_the_connection(port: int, app: Recorder) -> None:
    app.read = False
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"PUT /refused HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
                  + b"z" * 100_000)
        answer = read_all(s)
    assert answer.startswith(b"HTTP/1.1 200") and b"connection: close" in answer.lower()


def test_a_short_unread_body_is_dropped_and_the_connection_kept(port: int,
                                                                app: Recorder) -> None:
    app.read = False
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/refused", body=b"{" + b" " * 5000 + b"}")
    r = conn.getresponse()
    r.read()
    assert (r.getheader("Connection") or "").lower() != "close"
    sock = conn.sock
    app.read = True
    conn.request("GET", "/next")
    assert conn.getresponse().read().startswith(b"0 ") and conn.sock is sock


def test_an_idle_connection_is_closed_after_the_idle_timeout(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT * 10) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        t0 = time.monotonic()
        answer = read_all(s)
        waited = time.monotonic() - t0
    assert answer.startswith(b"HTTP/1.1 200")
    assert TIMEOUT * 0.8 <= waited < TIMEOUT * 5, waited


# ---- answers ----

def test_a_head_answer_keeps_its_length_and_sends_no_body(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("HEAD", "/stream/3")
    r = conn.getresponse()
    assert r.status == 200 and r.getheader("Content-Length") == str(3 << 20)
    assert r.read() == b""
    sock = conn.sock
    conn.request("GET", "/next")  # no body bytes were left on the connection
    assert conn.getresponse().read().startswith(b"0 ") and conn.sock is sock


def test_a_head_answer_made_whole_by_the_app_or_the_bridge_sends_no_body(port: int) -> None:
    """A list body (a refusal's JSON, a manifest) and the bridge's own 500: headers only, the
    GET's Content-Length kept; the next answer on the connection starts right after them."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"HEAD /listed HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        got = b""
        while got.count(b"HTTP/1.1 200") < 2 or not got.endswith(b" " + EMPTY_SHA256.encode()):
            got += s.recv(1 << 16)
    head, _, rest = got.partition(b"\r\n\r\n")
    assert b"content-length: 66" in head.lower()  # "0 " + the empty body's sha256
    assert rest.startswith(b"HTTP/1.1 200")  # no byte of the HEAD's body between
    answer = raw(port, b"HEAD /boom HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 500") and b"content-length: 15" in answer.lower()
    assert answer.endswith(b"\r\n\r\n")  # the connection closed after the headers


def test_a_streamed_answer_arrives_whole(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/stream/40")
    r = conn.getresponse()
    got = hashlib.sha256()
    size = 0
    while block := r.read(1 << 20):
        got.update(block)
        size += len(block)
    want = hashlib.sha256()
    for block in stream(40):
        want.update(block)
    assert size == 40 << 20 and got.hexdigest() == want.hexdigest()


def test_an_app_that_fails_gets_500_and_its_traceback_logged(
        port: int, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, "labkit.lab.http"):
        answer = raw(port, b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 500")
    assert any(r.exc_info and "a bug in the app" in str(r.exc_info[1]) for r in caplog.records)


def test_the_environ_is_pep_3333(port: int, app: Recorder) -> None:
    raw(port, b"GET /v2/a%2Fb/caf%C3%A9?x=%41&y=1 HTTP/1.1\r\nHost: lab:5000\r\n"
              b"X-Twice: 1\r\nX-Twice: 2\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n")
    env = app.seen[0]["environ"]
    assert env["REQUEST_METHOD"] == "GET"
    assert env["PATH_INFO"] == "/v2/a/b/caf\xc3\xa9"  # decoded bytes, as latin-1
    assert env["QUERY_STRING"] == "x=%41&y=1"
    assert env["HTTP_HOST"] == "lab:5000" and env["HTTP_X_TWICE"] == "1,2"
    assert env["CONTENT_TYPE"] == "text/plain" and "HTTP_CONTENT_TYPE" not in env
    assert env["REMOTE_ADDR"] == "127.0.0.1" and env["SERVER_PORT"] == str(port)
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1" and env["wsgi.url_scheme"] == "http"


# ---- the port, TLS ----

def test_a_port_in_use_is_refused(port: int) -> None:
    """granian binds with SO_REUSEPORT on Linux: without the front door's own check a second
    server would share the port."""
    second = FrontDoor(Recorder(), "127.0.0.1", port, threads=1)
    with pytest.raises(OSError):
        second.prepare()


def test_a_stopped_server_frees_its_port_for_the_next() -> None:
    """`labkit lab down` then `up` on the same port: the connections the first one closed
    (TIME-WAIT) must not hold the port."""
    port = 0
    for _ in range(2):
        door = FrontDoor(Recorder(), "127.0.0.1", port, threads=1, timeout=TIMEOUT)
        door.prepare()
        port = door.port
        thread = threading.Thread(target=door.serve, daemon=True)
        thread.start()
        raw(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")  # closed first
        door.stop()
        thread.join(10)
        assert not thread.is_alive()


def test_the_server_leaves_the_processes_logging_alone(tmp_path: Path) -> None:
    """granian configures logging when its server is built: the handlers the lab, a notebook
    or pytest installed must stay open."""
    handler = logging.FileHandler(tmp_path / "host.log")
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        door = FrontDoor(Recorder(), "127.0.0.1", 0, threads=1)
        door.prepare()
        door.stop()
        assert handler.stream is not None, "the server closed a handler of its host"
    finally:
        root.removeHandler(handler)
        handler.close()


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key in PKCS#8 (what granian reads)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "labkit test")])
    now = datetime.datetime.now(datetime.UTC)
    import ipaddress

    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_https_with_a_certificate(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    door = FrontDoor(Recorder(), "127.0.0.1", 0, threads=2, certificate=(cert, key))
    door.prepare()
    thread = threading.Thread(target=door.serve, daemon=True)
    thread.start()
    try:
        ctx = ssl.create_default_context(cafile=str(cert))
        conn = http.client.HTTPSConnection("127.0.0.1", door.port, timeout=10, context=ctx)
        conn.request("PUT", "/tls", body=b"secret")
        assert conn.getresponse().read() == (
            f"6 {hashlib.sha256(b'secret').hexdigest()}".encode())
        conn.close()
    finally:
        door.stop()
        thread.join(10)


# ---- the bridge's body reader alone ----

def test_a_server_error_while_receiving_cuts_the_body_at_once() -> None:
    """Whatever the server's `receive` raises, the app's read fails now, not after the idle
    timeout (its upload session is not held for two minutes)."""
    import asyncio

    from labkit.lab.server.wsgibridge import ClientGone, RequestBody

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    sent = iter([{"type": "http.request", "body": b"abc", "more_body": True}])

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(0)
        for message in sent:
            return message
        raise RuntimeError("the server's own failure")

    scope = {"client": ("127.0.0.1", 1), "method": "PUT", "path": "/x"}
    body = RequestBody(receive, loop, 100, idle_timeout=30, scope=scope)
    try:
        t0 = time.monotonic()
        buf = bytearray(100)
        assert body.readinto(buf) == 3 and bytes(buf[:3]) == b"abc"
        with pytest.raises(ClientGone, match="could not receive"):
            body.readinto(buf)
        assert time.monotonic() - t0 < 5 and body.failed
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
