"""The chunked-body decoder: same bytes as werkzeug's, clean errors on broken framing."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.serving import DechunkedInput

from labkit.lab.server.bodies import ChunkedError, Dechunker, SizedBody


def encode(parts: list[bytes], extension: bytes = b"", trailers: bytes = b"") -> bytes:
    out = b"".join(b"%x%s\r\n%s\r\n" % (len(p), extension, p) for p in parts if p)
    return out + b"0\r\n" + trailers + b"\r\n"


def drain(reader, buf_size: int) -> bytes:
    buf = memoryview(bytearray(buf_size))
    out = bytearray()
    while n := reader.readinto(buf):
        out += buf[:n]
    return bytes(out)


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(st.binary(min_size=0, max_size=300), max_size=12),
       buf_size=st.integers(1, 700),
       extension=st.sampled_from([b"", b";name=value", b"; x"]),
       trailers=st.sampled_from([b"", b"X-Trailer: 1\r\n"]))
def test_decodes_like_werkzeug(parts, buf_size, extension, trailers):
    wire = encode(parts, extension, trailers) + b"NEXT REQUEST"
    rfile = io.BufferedReader(io.BytesIO(wire), 64)
    assert drain(Dechunker(rfile), buf_size) == b"".join(parts)
    assert rfile.read() == b"NEXT REQUEST"  # stops exactly at the end of the body
    if not extension and not trailers:  # werkzeug's decoder knows neither
        plain = io.BufferedReader(io.BytesIO(wire))
        assert drain(DechunkedInput(plain), 4096) == b"".join(parts)


@pytest.mark.parametrize("wire", [
    b"zz\r\nhello\r\n0\r\n\r\n",              # not hex
    b"1_0\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n",  # int() would accept this, HTTP does not
    b"-5\r\nhello\r\n0\r\n\r\n",
    b"5\r\nhelloXX0\r\n\r\n",                  # no CRLF after the data
    b"10\r\nshort",                            # connection closes inside a chunk
    b"5\r\nhello\r\n",                         # no last chunk
    b"5" * 5000 + b"\r\n",                     # absurd size line
    b"5\r\nhello\r\n0\r\nX-T: 1\r\n",          # trailers never end
])
def test_broken_framing_raises(wire):
    with pytest.raises(ChunkedError):
        drain(Dechunker(io.BufferedReader(io.BytesIO(wire))), 1024)


def test_finished_only_at_the_end_of_the_body():
    """The front door keeps a connection only after a whole body: `finished` must not lie."""
    wire = encode([b"abc", b"defg"]) + b"NEXT"
    d = Dechunker(io.BufferedReader(io.BytesIO(wire)))
    assert d.readinto(bytearray(7)) == 7 and not d.finished  # data read, last chunk not yet
    assert d.readinto(bytearray(7)) == 0 and d.finished
    sized = SizedBody(io.BufferedReader(io.BytesIO(b"0123456789NEXT")), 10)
    assert sized.read(4) == b"0123" and not sized.finished and sized.remaining == 6
    assert sized.read() == b"456789" and sized.finished
