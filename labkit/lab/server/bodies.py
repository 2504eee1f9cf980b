"""Request bodies as the lab's front door hands them to the app: read straight from the
connection's buffered reader into the caller's buffer, never buffered whole or spooled.

`SizedBody` is a Content-Length body; `Dechunker` decodes Transfer-Encoding: chunked (docker and
curl stream a layer as a chunked PATCH) directly into the upload's 1 MiB buffer, with no copy
per chunk. Both know whether the body was read to its end, which decides whether the
connection may serve another request (keep-alive) or must be closed.
"""

from __future__ import annotations

import io
import re
from typing import Any, BinaryIO

MAX_LINE = 4096
HEX_RE = re.compile(rb"^[0-9a-fA-F]{1,16}$")


def _filler(rfile: BinaryIO) -> Any:
    """The reader's `readinto1` if it has one: one system call at most, straight into the
    caller's buffer (the front door's `connreader.SocketReader`; in `_pyio` readers, the path
    that copies buffered bytes correctly: their `readinto` miscounts once part of the buffer
    was filled)."""
    return getattr(rfile, "readinto1", None) or rfile.readinto


class SizedBody(io.RawIOBase):
    """A body of `length` bytes (Content-Length) over the connection's buffered reader."""

    def __init__(self, rfile: BinaryIO, length: int):
        super().__init__()
        self._fill = _filler(rfile)
        self.remaining = length

    def readable(self) -> bool:
        return True

    @property
    def finished(self) -> bool:
        return self.remaining == 0

    def readinto(self, buffer: Any) -> int:
        """Fill `buffer` as far as the body goes; 0 at its end (or if the peer hung up early)."""
        view = memoryview(buffer).cast("B")
        if len(view) > self.remaining:
            view = view[:max(self.remaining, 0)]
        filled, size, fill = 0, len(view), self._fill
        while filled < size:
            n = fill(view[filled:])
            if not n:
                break
            filled += n
        self.remaining -= filled
        return filled


class ChunkedError(OSError):
    """The body's chunked framing is broken (the reader reports it as a bad upload)."""


class Dechunker(io.RawIOBase):
    """A chunked body over the connection's buffered reader (`read` comes from RawIOBase)."""

    def __init__(self, rfile: BinaryIO):
        super().__init__()
        self._rfile = rfile
        self._fill = _filler(rfile)
        self._left = 0  # bytes still to read in the current chunk
        self._done = False

    def readable(self) -> bool:
        return True

    @property
    def finished(self) -> bool:
        """True once the last chunk and the trailers were read: the connection can be reused."""
        return self._done

    def readinto(self, buffer: Any) -> int:
        """Fill `buffer` as far as the body goes; 0 once the last chunk was read."""
        buffer = memoryview(buffer).cast("B")
        filled, size = 0, len(buffer)
        rfile = self._rfile
        while filled < size and not self._done:
            if self._left == 0:
                self._left = self._next_size()
                if self._left == 0:
                    self._skip_trailers()
                    break
            want = min(self._left, size - filled)
            n = self._fill(buffer[filled:filled + want])
            if not n:
                raise ChunkedError("the connection closed inside a chunk")
            filled += n
            self._left -= n
            if self._left == 0 and rfile.read(2) != b"\r\n":
                raise ChunkedError("a chunk is not followed by CRLF")
        return filled

    def _next_size(self) -> int:
        line = self._rfile.readline(MAX_LINE)
        if not line.endswith(b"\n"):
            raise ChunkedError("chunk size line missing, truncated or too long")
        size = line.split(b";", 1)[0].strip()  # chunk extensions are ignored
        if not HEX_RE.match(size):
            raise ChunkedError(f"invalid chunk size {size[:20]!r}")
        return int(size, 16)

    def _skip_trailers(self) -> None:
        while True:
            line = self._rfile.readline(MAX_LINE)
            if not line.endswith(b"\n"):
                raise ChunkedError("the body ended inside its trailers")
            if line in (b"\r\n", b"\n"):
                break
        self._done = True
