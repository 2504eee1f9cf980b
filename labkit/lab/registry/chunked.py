"""Transfer-Encoding: chunked, decoded straight into the caller's buffer.

docker and curl stream a layer as a chunked PATCH.  Werkzeug's own decoder copies every chunk
through a temporary bytes object; this one reads each chunk's bytes directly into the upload's
1 MiB buffer, which roughly halves the receiving thread's work on that path.
"""

from __future__ import annotations

import io
import re
from typing import Any, BinaryIO

MAX_LINE = 4096
HEX_RE = re.compile(rb"^[0-9a-fA-F]{1,16}$")


class ChunkedError(OSError):
    """The body's chunked framing is broken (the reader reports it as a bad upload)."""


class Dechunker(io.RawIOBase):
    """A chunked body over the connection's buffered reader (`read` comes from RawIOBase).

    The lab's server installs it for every chunked request (labkit/lab/serve.py); the registry
    also wraps werkzeug's own decoder with it when run on a plain werkzeug server."""

    def __init__(self, rfile: BinaryIO):
        super().__init__()
        self._rfile = rfile
        self._left = 0  # bytes still to read in the current chunk
        self._done = False

    def readable(self) -> bool:
        return True

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
            n = rfile.readinto(buffer[filled:filled + want])
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


def raw_reader(stream: Any) -> BinaryIO | None:
    """The connection under werkzeug's (untouched) chunked decoder, or None if not that.

    Relies on werkzeug's DechunkedInput keeping the connection as `_rfile`; with any other
    server, or another werkzeug, the caller keeps the server's own decoder.
    """
    try:
        from werkzeug.serving import DechunkedInput
    except ImportError:  # pragma: no cover - werkzeug is a dependency
        return None
    if type(stream) is not DechunkedInput:
        return None
    rfile = getattr(stream, "_rfile", None)
    if rfile is None or getattr(stream, "_len", None) != 0 or getattr(stream, "_done", True):
        return None
    if not hasattr(rfile, "readinto") or not hasattr(rfile, "readline"):
        return None
    return rfile
