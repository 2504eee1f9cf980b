"""Request bodies in and blob bytes out, in 1 MiB chunks: memory never grows with blob size."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

from . import errors

CHUNK = 1 << 20
CONTENT_RANGE_RE = re.compile(r"^(?:bytes[ =])?(\d+)-(\d+)(?:/(?:\d+|\*))?$")


def content_length(environ: dict[str, Any]) -> int | None:
    raw = environ.get("CONTENT_LENGTH") or ""
    if not raw.strip():
        return None
    try:
        value = int(raw)
    except ValueError:
        raise errors.SizeInvalid(detail={"Content-Length": raw[:40]}) from None
    if value < 0:
        raise errors.SizeInvalid(detail={"Content-Length": raw[:40]})
    return value


def has_body(environ: dict[str, Any]) -> bool:
    length = content_length(environ)
    return bool(length) or (length is None and bool(environ.get("wsgi.input_terminated")))


class BodyReader:
    """The request body, up to Content-Length (or to EOF for a chunked request), via readinto.

    A body that ends before Content-Length raises SIZE_INVALID (the caller rolls back). The
    server decodes chunked framing; its `wsgi.input_terminated` says such a body ends at EOF.
    """

    def __init__(self, environ: dict[str, Any]):
        self.expected = content_length(environ)
        self._remaining = self.expected
        self._stream = environ["wsgi.input"]
        if self.expected is None and not environ.get("wsgi.input_terminated"):
            self._remaining = 0  # no length and no chunked framing: no body (WSGI's rule)
        self._readinto = getattr(self._stream, "readinto", None)

    def readinto(self, buffer: memoryview) -> int:
        remaining = self._remaining
        if remaining == 0:
            return 0
        view = buffer if remaining is None or remaining >= len(buffer) else buffer[:remaining]
        try:
            if self._readinto is not None:
                n = self._readinto(view) or 0
            else:
                block = self._stream.read(len(view))
                n = len(block)
                view[:n] = block
        except (OSError, ValueError) as e:  # connection reset, bad chunk framing
            raise errors.BlobUploadInvalid(
                detail={"reason": f"the request body could not be read: {e}"}) from None
        if n == 0:
            if remaining:
                raise errors.SizeInvalid(detail={"reason": f"the body ended {remaining} bytes "
                                                           "short of Content-Length"})
            self._remaining = 0
            return 0
        if remaining is not None:
            self._remaining = remaining - n
        return n


def body_chunks(environ: dict[str, Any]) -> Iterator[memoryview]:
    """The request body as views into one reused 1 MiB buffer (consume each before the next)."""
    reader = BodyReader(environ)
    buf = memoryview(bytearray(CHUNK))
    while n := reader.readinto(buf):
        yield buf[:n]


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    """A small body (a manifest) as bytes; at most limit + 1 bytes are read."""
    out = bytearray()
    for block in body_chunks(environ):
        out += block
        if len(out) > limit:
            break
    return bytes(out)


def parse_content_range(value: str | None, length: int | None) -> int | None:
    """The start offset of a chunk's Content-Range (`start-end`), checked against its length."""
    if not value:
        return None
    m = CONTENT_RANGE_RE.match(value.strip())
    if not m:
        raise errors.ChunkRangeInvalid(detail={"Content-Range": value[:60],
                                               "reason": "not of the form start-end"})
    start, end = int(m.group(1)), int(m.group(2))
    if end < start:
        raise errors.ChunkRangeInvalid(detail={"Content-Range": value[:60],
                                               "reason": "it ends before it starts"})
    if length is not None and end - start + 1 != length:
        raise errors.ChunkRangeInvalid(detail={
            "Content-Range": value[:60],
            "reason": f"it covers {end - start + 1} bytes but Content-Length is {length}"})
    return start


def file_chunks(path: os.PathLike[str] | str, start: int, length: int) -> Iterator[bytes]:
    """`length` bytes of a file from `start`; the file is closed when the response is."""
    with open(path, "rb") as f:
        f.seek(start)
        remaining = length
        while remaining > 0:
            block = f.read(min(CHUNK, remaining))
            if not block:
                return
            remaining -= len(block)
            yield block
