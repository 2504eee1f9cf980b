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
        raise errors.SizeInvalid(f"invalid Content-Length {raw[:40]!r}") from None
    if value < 0:
        raise errors.SizeInvalid(f"invalid Content-Length {raw[:40]!r}")
    return value


def has_body(environ: dict[str, Any]) -> bool:
    length = content_length(environ)
    return bool(length) or (length is None and bool(environ.get("wsgi.input_terminated")))


def body_chunks(environ: dict[str, Any]) -> Iterator[memoryview | bytes]:
    """The request body, read up to Content-Length (or to EOF for a chunked request).

    Yields views into one reused 1 MiB buffer: consume each before asking for the next.
    A body that ends before Content-Length raises SIZE_INVALID (the caller rolls back).
    """
    stream = environ["wsgi.input"]
    remaining = content_length(environ)
    if remaining is None and not environ.get("wsgi.input_terminated"):
        return
    buf = memoryview(bytearray(CHUNK))
    readinto = getattr(stream, "readinto", None)
    while remaining is None or remaining > 0:
        want = CHUNK if remaining is None else min(CHUNK, remaining)
        if readinto is not None:
            n = readinto(buf[:want]) or 0
            block: memoryview | bytes = buf[:n]
        else:
            block = stream.read(want)
            n = len(block)
        if n == 0:
            if remaining:
                raise errors.SizeInvalid(f"the body ended {remaining} bytes short of "
                                         "Content-Length")
            return
        yield block
        if remaining is not None:
            remaining -= n


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
        raise errors.RangeInvalid(f"malformed Content-Range {value[:60]!r}")
    start, end = int(m.group(1)), int(m.group(2))
    if end < start:
        raise errors.RangeInvalid(f"Content-Range {value[:60]!r} ends before it starts")
    if length is not None and end - start + 1 != length:
        raise errors.RangeInvalid(
            f"Content-Range {value[:60]!r} covers {end - start + 1} bytes but Content-Length "
            f"is {length}")
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
