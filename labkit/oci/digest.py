"""Content digests (`sha256:<64 hex>`), the one identity every layer, config and manifest has."""

from __future__ import annotations

import hashlib
import re
from typing import BinaryIO

ALGORITHM = "sha256"
DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
# The spec's general grammar; anything other than sha256 is refused as unsupported.
ANY_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
CHUNK = 1 << 20


class InvalidDigest(ValueError):
    """A string that is not a well-formed sha256 digest."""


def is_digest(value: str) -> bool:
    return bool(DIGEST_RE.match(value or ""))


def parse(value: str) -> str:
    """Return the hex part of a sha256 digest, or raise InvalidDigest."""
    if not is_digest(value):
        raise InvalidDigest(f"invalid digest {value!r}: expected sha256:<64 lowercase hex>")
    return value.split(":", 1)[1]


def of_bytes(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def of_file(path: str, chunk: int = CHUNK) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return f"sha256:{h.hexdigest()}"


def of_stream(stream: BinaryIO, chunk: int = CHUNK) -> tuple[str, int]:
    """Digest and length of a stream read to its end."""
    h = hashlib.sha256()
    n = 0
    while block := stream.read(chunk):
        h.update(block)
        n += len(block)
    return f"sha256:{h.hexdigest()}", n


def short(digest: str, n: int = 12) -> str:
    """The short form docker prints (`3f4e5a6b7c8d`)."""
    return digest.split(":", 1)[-1][:n]
