"""Chunked request bodies (`Transfer-Encoding: chunked`, how docker and skopeo stream layers),
decoded straight into the reader's buffer.

werkzeug's own DechunkedInput copies every chunk through a fresh bytes object; for a layer of
hundreds of MiB that is the busiest line of the lab. This reader does the same framing with
`readinto`, so the bytes are copied once, from the socket into the registry's buffer.
"""

from __future__ import annotations

import io
from typing import Any

MAX_LINE = 4096  # a chunk-size line (with extensions) or a trailer line


class Dechunked(io.RawIOBase):
    """The payload of a chunked body read from `rfile` (a buffered socket reader)."""

    def __init__(self, rfile: Any):
        self._rfile = rfile
        self._left = 0  # bytes still to read in the current chunk
        self._done = False

    def readable(self) -> bool:
        return True

    def _size_line(self) -> int:
        line = self._rfile.readline(MAX_LINE)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise OSError("Invalid chunk header") from None
        if size < 0:
            raise OSError("Negative chunk length not allowed")
        return size

    def _end_of_chunk(self) -> None:
        if self._rfile.readline(3) not in (b"\r\n", b"\n"):
            raise OSError("Missing chunk terminating newline")

    def _trailers(self) -> None:
        """After the last (empty) chunk: optional trailer lines, then an empty line."""
        while True:
            line = self._rfile.readline(MAX_LINE)
            if line in (b"\r\n", b"\n", b""):
                return

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        got = 0
        while got < len(view) and not self._done:
            if self._left == 0:
                self._left = self._size_line()
                if self._left == 0:
                    self._trailers()
                    self._done = True
                    break
            want = min(self._left, len(view) - got)
            n = self._rfile.readinto(view[got:got + want])
            if not n:
                raise OSError("the connection closed inside a chunk")
            got += n
            self._left -= n
            if self._left == 0:
                self._end_of_chunk()
        return got
