"""The lab's chunked-body decoder: the same payload whatever the chunk and buffer sizes, and
framing errors refused the way werkzeug refuses them (OSError)."""

from __future__ import annotations

import io
import os
import socket
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.lab.server.bodies import Dechunker as Dechunked


def frame(pieces: list[bytes], trailer: bytes = b"", ext: bool = False) -> bytes:
    out = b""
    for p in pieces:
        out += f"{len(p):x}{';name=v' if ext else ''}\r\n".encode() + p + b"\r\n"
    return out + b"0\r\n" + trailer + b"\r\n"


def read_all(raw: bytes, bufsize: int) -> tuple[bytes, bytes]:
    """Decode `raw` with reads of `bufsize`; also return what is left after the body."""
    rfile = io.BufferedReader(io.BytesIO(raw), 8192)
    d = Dechunked(rfile)
    buf = bytearray(bufsize)
    out = bytearray()
    while n := d.readinto(buf):
        out += buf[:n]
    return bytes(out), rfile.read()


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(1, 70000), max_size=8), bufsize=st.integers(1, 1 << 17),
       ext=st.booleans())
def test_payload_survives_any_chunking(sizes: list[int], bufsize: int, ext: bool) -> None:
    data = os.urandom(sum(sizes))
    pieces, at = [], 0
    for s in sizes:
        pieces.append(data[at:at + s])
        at += s
    got, rest = read_all(frame(pieces, ext=ext) + b"NEXT", bufsize)
    assert got == data
    assert rest == b"NEXT"  # the body's end is found exactly: keep-alive stays in step


def test_trailers_are_skipped() -> None:
    got, rest = read_all(frame([b"abc", b"de"], trailer=b"X-Checksum: 1\r\n") + b"GET", 4)
    assert (got, rest) == (b"abcde", b"GET")


@pytest.mark.parametrize("raw", [
    b"zz\r\nabc\r\n0\r\n\r\n",  # size is not hex
    b"-3\r\nabc\r\n0\r\n\r\n",  # negative size
    b"3\r\nabcX\r\n0\r\n\r\n",  # chunk longer than announced
    b"5\r\nabc",  # connection closed inside a chunk
])
def test_bad_framing_is_an_oserror(raw: bytes) -> None:
    with pytest.raises(OSError):
        read_all(raw, 1 << 20)


def test_reads_from_a_real_socket() -> None:
    """Over a socket, chunks arrive in pieces: the decoder still fills the buffer exactly."""
    data = os.urandom(3 * (1 << 20) + 7)
    a, b = socket.socketpair()
    payload = frame([data[i:i + 65536] for i in range(0, len(data), 65536)])
    sender = threading.Thread(target=lambda: (a.sendall(payload), a.close()))
    sender.start()
    try:
        with b.makefile("rb") as rfile:
            d = Dechunked(rfile)
            buf = memoryview(bytearray(1 << 20))
            out = bytearray()
            while n := d.readinto(buf):
                out += buf[:n]
    finally:
        sender.join()
        b.close()
    assert out == data
