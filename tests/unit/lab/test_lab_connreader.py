"""The front door's connection reader (labkit.lab.server.connreader) over a real socket pair: lines
that straddle its buffer, limits, bodies read straight into the caller's buffer, and a timeout
that leaves it usable (socket.SocketIO refuses every read after one)."""

from __future__ import annotations

import socket
import threading

import pytest

from labkit.lab.server.connreader import SocketReader


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_lines_across_a_small_buffer_and_limits(pair):
    a, b = pair
    r = SocketReader(a, 8)  # smaller than every line below
    b.sendall(b"GET /v2/hello-app/manifests/v1 HTTP/1.1\r\nHost: lab\r\nX: " + b"y" * 30
              + b"\r\n\r\nrest")
    assert r.readline() == b"GET /v2/hello-app/manifests/v1 HTTP/1.1\r\n"
    assert r.readline(4) == b"Host"  # the limit stops mid-line, the rest stays
    assert r.readline() == b": lab\r\n"
    assert r.readline(256) == b"X: " + b"y" * 30 + b"\r\n"
    assert r.readline() == b"\r\n"
    assert r.has_data()
    assert r.read(4) == b"rest"
    assert not r.has_data()
    assert r.bytes_read == 41 + 4 + 7 + 35 + 2 + 4
    b.shutdown(socket.SHUT_WR)
    assert r.readline() == b"" and r.read(10) == b""


def test_body_reads_take_buffered_bytes_then_go_straight_to_the_socket(pair):
    a, b = pair
    r = SocketReader(a, 16)
    b.sendall(b"HEAD\r\n" + b"0123456789")
    assert r.readline() == b"HEAD\r\n"
    big = bytearray(64)
    assert r.readinto1(big) == 10 and big[:10] == b"0123456789"  # what was buffered
    payload = bytes(range(64))
    b.sendall(payload)
    n = r.readinto1(big)  # nothing buffered and a large read: recv_into the caller's buffer
    assert 0 < n <= 64 and big[:n] == payload[:n]
    rest = bytearray(64 - n)
    assert r.readinto(rest) == 64 - n and bytes(big[:n] + rest) == payload
    b.sendall(b"xy")
    assert r.peek(1) == b"xy" and r.read(2) == b"xy"


def test_a_timeout_raises_every_time_and_leaves_the_reader_usable(pair):
    a, b = pair
    a.settimeout(0.05)
    r = SocketReader(a, 64)
    with pytest.raises(TimeoutError):
        r.readline()
    with pytest.raises(TimeoutError):
        r.readinto1(bytearray(8))
    threading.Timer(0.01, b.sendall, args=(b"late\r\n",)).start()
    a.settimeout(2)
    assert r.readline() == b"late\r\n"
