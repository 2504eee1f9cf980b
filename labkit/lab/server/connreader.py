"""The read side of a front-door connection: a buffer over the socket.

Why the lab has its own: cheroot reads through Python's pure-Python `_pyio.BufferedReader`,
whose `readline` walks `peek` and `read` in Python for every header line. Under load that was a
fifth of the lab's GIL time for a manifest GET. Here a line is one `bytearray.find` in the
buffer, a read into the caller's buffer is one `recv_into` when nothing is buffered, and the
buffer is allocated once per connection (a 256 KiB `recv` would allocate a fresh object per
read). cheroot takes it through its public `makefile` argument of `HTTPConnection`.

What cheroot and `labkit.lab.server.bodies` call: `readline`, `read`, `readinto1`, `readinto`, `peek`,
`has_data` (buffered bytes wait: serve them before parking the connection in the selector),
`bytes_read`, `close`, `closed`. A timeout or reset raises from `recv_into` as it happens, every
time: unlike `socket.SocketIO`, the reader is not left broken ("cannot read from timed out
object") for whoever reads next.
"""

from __future__ import annotations

import socket
from typing import Any


class SocketReader:
    """Buffered reads of a connected socket (the socket itself is closed by its owner)."""

    def __init__(self, sock: socket.socket, bufsize: int):
        self._sock = sock
        self._data = bytearray(bufsize)
        self._view = memoryview(self._data)
        self._pos = 0  # next unread byte
        self._end = 0  # end of the buffered bytes
        self.bytes_read = 0
        self.closed = False

    # ---- buffer ----

    def has_data(self) -> bool:
        """Bytes already received wait here (a pipelined request): no need to wait for the
        socket to become readable."""
        return self._pos < self._end

    def _fill(self) -> int:
        """Receive into the empty buffer (blocks up to the socket's timeout); 0 at EOF."""
        n = self._sock.recv_into(self._view)
        self._pos, self._end = 0, n
        return n

    def peek(self, size: int = 1) -> bytes:
        """Buffered bytes without consuming them; receives once if none are buffered."""
        if self._pos >= self._end and not self._fill():
            return b""
        return bytes(self._view[self._pos:self._end])

    # ---- reads ----

    def readline(self, size: int | None = -1) -> bytes:
        """One line with its b"\\n", at most `size` bytes (a negative size: no limit)."""
        limit = -1 if size is None else size
        parts: list[bytes] = []
        got = 0
        while limit < 0 or got < limit:
            if self._pos >= self._end and not self._fill():
                break
            pos = self._pos
            nl = self._data.find(b"\n", pos, self._end)
            stop = self._end if nl < 0 else nl + 1
            if limit >= 0:
                stop = min(stop, pos + limit - got)
            parts.append(bytes(self._view[pos:stop]))
            got += stop - pos
            self._pos = stop
            if nl >= 0 and stop == nl + 1:
                break
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        self.bytes_read += len(data)
        return data

    def read(self, size: int | None = -1) -> bytes:
        """`size` bytes, fewer only at EOF; a negative size reads to EOF."""
        parts: list[bytes] = []
        got = 0
        while size is None or size < 0 or got < size:
            if self._pos >= self._end and not self._fill():
                break
            take = self._end - self._pos
            if size is not None and size >= 0:
                take = min(take, size - got)
            parts.append(bytes(self._view[self._pos:self._pos + take]))
            self._pos += take
            got += take
        data = b"".join(parts)
        self.bytes_read += len(data)
        return data

    def readinto1(self, buffer: Any) -> int:
        """At most one receive: buffered bytes first; else, for a read as large as the buffer
        (a layer's 1 MiB), straight into the caller's buffer with no copy."""
        view = memoryview(buffer).cast("B")
        if not len(view):
            return 0
        avail = self._end - self._pos
        if not avail:
            if len(view) >= len(self._data):
                n = self._sock.recv_into(view)
                self.bytes_read += n
                return n
            avail = self._fill()
            if not avail:
                return 0
        n = min(avail, len(view))
        view[:n] = self._view[self._pos:self._pos + n]
        self._pos += n
        self.bytes_read += n
        return n

    def readinto(self, buffer: Any) -> int:
        """Fill `buffer`; fewer bytes only at EOF."""
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            n = self.readinto1(view[filled:])
            if not n:
                break
            filled += n
        return filled

    def close(self) -> None:
        self.closed = True

    def readable(self) -> bool:
        return True


def make_files(writer_factory: Any, bufsize: int) -> Any:
    """A `makefile` for cheroot's `HTTPConnection`: our reader for 'rb', cheroot's own writer
    (from `writer_factory`, the makefile cheroot passed) for 'wb'."""

    def makefile(sock: socket.socket, mode: str = "r", size: int = -1) -> Any:
        if "r" in mode:
            return SocketReader(sock, bufsize)
        return writer_factory(sock, mode, size)

    return makefile
