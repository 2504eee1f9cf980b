"""Hostile input (issue 5): hypothesis fuzzes the registry's HTTP surface of a running lab."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.reliability import fuzzing

pytestmark = pytest.mark.reliability
EXAMPLES = int(os.environ.get("LABKIT_FUZZ_EXAMPLES", "400"))


def test_hostile_requests_get_spec_errors_and_write_nothing_outside(own_lab) -> None:
    outside = Path(own_lab.home).resolve().parent  # the lab's home and its neighbours
    victim = outside / "victim"
    victim.mkdir(exist_ok=True)
    (victim / "keep").write_text("must not change")
    outcome = fuzzing.run(own_lab, "fuzz/target", outside, EXAMPLES)
    assert outcome.tried >= EXAMPLES
    assert (victim / "keep").read_text() == "must not change"
    # the fuzz reached the handlers, not only the front door
    assert {200, 404}.issubset(outcome.extra["statuses"]), outcome.extra["statuses"]
    outcome.check()


# What docker and skopeo send first when they probe a plain-HTTP registry for HTTPS, and other
# bytes that are not HTTP at all.
NOT_HTTP = [bytes.fromhex("16030100de010000da0303") + bytes(range(32)) + b"\r\n\r\n",
            b"\x00\xff\xfe garbage\r\n\r\n", b"GET\r\n\r\n", b"GET /v2/ HTTP/9.9\r\n\r\n",
            b"GET /v2/ HTTP/1.1\r\n" + b"X: " + b"a" * 70000 + b"\r\n\r\n",
            b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n"]


@pytest.mark.parametrize("raw", NOT_HTTP, ids=["tls-hello", "binary", "no-version",
                                               "bad-version", "huge-header", "huge-line"])
def test_bytes_that_are_not_http_get_an_error_not_a_crashed_thread(own_lab, raw: bytes) -> None:
    import re
    import socket

    from tests.reliability import support

    before = len(support.unexpected_errors(own_lab.home))
    with socket.create_connection(("127.0.0.1", own_lab.port), timeout=10) as s:
        s.sendall(raw)  # and keep the sending side open: granian does not answer a client
        answer = b""    # that half-closed (it closes at the end of input), and no registry client does
        while b"\r\n\r\n" not in answer and (chunk := s.recv(65536)):  # an answer's head, or
            answer += chunk                                              # the end (HTTP/0.9)
    # a 4xx (or 505 for HTTP/9.9) status line, or the bare HTML error of an HTTP/0.9 answer
    assert re.search(rb"\AHTTP/1\.[01] (4\d\d|505) |Error code: (4\d\d|505)", answer), answer[:200]
    assert support.unexpected_errors(own_lab.home)[before:] == []
    assert support.Registry(own_lab).request("GET", "/v2/").status_code == 200
