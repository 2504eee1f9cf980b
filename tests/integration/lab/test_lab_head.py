"""HEAD answers carry no body, whichever part of the lab answers (labkit/lab/server/frontdoor.py).

HTTP forbids content in the answer to a HEAD (RFC 9110 9.3.2). A body there is read by a
kept-alive client as the start of its next answer: Go's client (the OCI conformance suite) logs
`Unsolicited response received on idle HTTP channel`, others misparse. Each case below sends a
HEAD, then a GET, over one raw socket: the HEAD's answer must end with its headers, and the
GET's answer must be the next bytes on the wire, with the Content-Length the HEAD announced.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import ShortTokens, registry_credentials, unique
from tests.reliability.support import basic_header

STRAY_WAIT = 0.3  # seconds to watch the socket for bytes after a HEAD's headers


class RawConnection:
    """One kept-alive HTTP/1.1 connection, parsed by hand: nothing is skipped or guessed."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""

    def send(self, method: str, path: str, headers: dict[str, str]) -> None:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.sock.getpeername()[1]}",
                 *(f"{k}: {v}" for k, v in headers.items()), "", ""]
        self.sock.sendall("\r\n".join(lines).encode("latin-1"))

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError(f"the lab closed the connection; unread: {self.buffer!r}")
        self.buffer += data

    def answer_head(self) -> tuple[int, dict[str, str]]:
        """The status and headers of the next answer; its body stays unread."""
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        assert status_line.startswith("HTTP/1.1 "), f"not an answer: {head[:200]!r}"
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(status_line.split(" ")[1]), headers

    def body(self, length: int) -> bytes:
        while len(self.buffer) < length:
            self._fill()
        out, self.buffer = self.buffer[:length], self.buffer[length:]
        return out

    def stray(self) -> bytes:
        """Whatever the lab sent after an answer's end, within STRAY_WAIT."""
        if select.select([self.sock], [], [], STRAY_WAIT)[0]:
            self.sock.setblocking(False)
            try:
                self.buffer += self.sock.recv(65536)
            except BlockingIOError:
                pass
            finally:
                self.sock.setblocking(True)
        out, self.buffer = self.buffer, b""
        return out

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def password(lab: Any, ecr_client: Any) -> str:
    return registry_credentials(ecr_client)[1]


@pytest.fixture(scope="module")
def expired_password(lab: Any, ecr_client: Any) -> Iterator[str]:
    """A token the lab's token clock has moved past (the clock is put back after the module)."""
    with ShortTokens(lab) as short:
        password = registry_credentials(ecr_client)[1]
        short.expire()
        yield password


@pytest.fixture(scope="module")
def ecr_client(lab: Any) -> Any:
    import boto3

    from labkit import config

    return boto3.client("ecr", endpoint_url=lab.endpoint_url, region_name=lab.region,
                        aws_access_key_id=config.LAB_ACCESS_KEY,
                        aws_secret_access_key=config.LAB_SECRET_KEY)


Case = Callable[[Any], tuple[str, dict[str, str]]]
EMPTY_HEX = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories"
# (what answers, expected status, request) for each part of the lab that answers a HEAD
CASES: dict[str, tuple[int | None, Case]] = {
    "registry realm (/)": (401, lambda f: ("/", {})),
    "registry gate, no credentials": (401, lambda f: ("/v2/", {})),
    "registry gate, manifest": (401, lambda f: ("/v2/some/repo/manifests/latest", {})),
    "registry gate, wrong password": (
        401, lambda f: ("/v2/", {"Authorization": basic_header("AWS", "not-a-token")})),
    "registry gate, expired token": (
        403, lambda f: ("/v2/", {"Authorization": basic_header("AWS", f("expired_password"))})),
    "registry error (unknown repository)": (
        404, lambda f: (f"/v2/{unique('head')}/manifests/latest",
                        {"Authorization": basic_header("AWS", f("password"))})),
    "registry, accepted": (
        200, lambda f: ("/v2/", {"Authorization": basic_header("AWS", f("password"))})),
    "storage, unsigned URL": (403, lambda f: (f"/_storage/blobs/sha256/{EMPTY_HEX}", {})),
    "another service": (400, lambda f: ("/?Action=ListBuckets", {})),
    "another path": (400, lambda f: ("/some/other/path", {})),
    "ECR API": (None, lambda f: ("/", {"X-Amz-Target": ECR_TARGET})),
    "lab endpoint, no credentials": (401, lambda f: ("/_labkit/status", {})),
    "lab endpoint, unknown": (401, lambda f: ("/_labkit/no-such-endpoint", {})),
}


@pytest.fixture()
def raw(lab: Any) -> Iterator[RawConnection]:
    conn = RawConnection(lab.port)
    yield conn
    conn.close()


@pytest.mark.parametrize("case", list(CASES))
def test_head_answer_has_no_body_and_the_next_answer_parses(
        request: pytest.FixtureRequest, raw: RawConnection, case: str) -> None:
    expected, make = CASES[case]
    path, headers = make(request.getfixturevalue)
    raw.send("HEAD", path, headers)
    status, head_headers = raw.answer_head()
    if expected is not None:
        assert status == expected, head_headers
    assert raw.stray() == b"", f"{case}: the HEAD answer carried a body"
    assert head_headers.get("connection", "").lower() != "close", \
        "the test needs the connection kept alive"
    raw.send("GET", path, headers)
    get_status, get_headers = raw.answer_head()
    assert get_status == status
    length = int(get_headers["content-length"])
    body = raw.body(length)
    assert len(body) == length
    if "content-length" in head_headers:  # the GET's length, as RFC 9110 8.6 asks
        assert head_headers["content-length"] == get_headers["content-length"]
    assert raw.stray() == b""


def test_refused_head_keeps_a_python_client_in_step(lab: Any) -> None:
    """What a client library does with it: http.client reads no body after a HEAD, so a stray
    one breaks the next answer's status line."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", lab.port, timeout=10)
    try:
        for _ in range(3):
            conn.request("HEAD", "/v2/")
            head = conn.getresponse()
            head.read()
            assert head.status == 401
            conn.request("GET", "/v2/")
            get = conn.getresponse()
            assert get.status == 401 and get.read() == b"Not Authorized\n"  # ECR's body
    finally:
        conn.close()
