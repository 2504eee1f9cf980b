"""The lab's HTTP front door: cheroot's threaded WSGI server, behind a seam the lab owns.

Why cheroot (measurements in docs/frontdoor.md): pure Python, so it runs wherever the learner's
Python runs (Linux, macOS, Windows); HTTP/1.1 keep-alive with idle connections parked in a
selector rather than holding a thread; request bodies handed to the app as a stream (nothing
spooled to a temp file); a small, maintained dependency that starts in milliseconds.

What the lab adds here, through cheroot's public extension points only (subclasses of its
server, connection, request and WSGI gateway):
- request bodies as `labkit.lab.server.bodies` readers straight over the connection (`readinto` into
  the upload's buffer, chunked bodies decoded without a copy per chunk);
- keep-alive only when the request body was read to its end; otherwise the answer says
  `Connection: close` and the connection is closed (never drained: a refused 1 GiB upload is
  not read just to keep a socket);
- one log line, no traceback, for what the network does to a server: a client idle past
  LABKIT_IDLE_TIMEOUT, a reset, a TLS hello sent to this plain-HTTP port, a bad request line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import socket
import time
from collections.abc import Callable, Iterable
from email.utils import formatdate
from typing import Any

from cheroot import makefile as cheroot_makefile
from cheroot import server as cheroot_server
from cheroot import wsgi

from .bodies import ChunkedError, Dechunker, SizedBody
from .connreader import make_files

log = logging.getLogger("labkit.lab.http")

# A client that goes silent mid-request (a laptop lid closed mid-push: no FIN, no RST) would
# hold its thread, and the lock of its upload session, forever. After this many seconds without
# a byte the read fails, the half-received chunk is rolled back and the session can resume.
# Idle keep-alive connections are closed after the same time.
DEFAULT_IDLE_TIMEOUT = 120.0
# Threads serving requests at once; idle keep-alive connections do not hold one.
THREADS = 32
READ_BUFFER = 1 << 18  # one recv covers several chunks of a chunked layer upload
DRAIN_LIMIT = 1 << 16  # an unread body up to this size is read (by cheroot) to keep the connection
TLS_HANDSHAKE = 0x16
# A kept-alive connection stays in its request thread while the client sends its next request
# within this many seconds, for at most this many requests in a row (see _serve_while_busy).
KEEP_SERVING_WAIT = 0.002
KEEP_SERVING_MAX = 64
LINGER_SECONDS = 2.0  # at most this long, and this many bytes, to let a refused client read
LINGER_BYTES = 16 << 20  # first byte of a TLS record carrying a ClientHello

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def idle_timeout() -> float:
    return float(os.environ.get("LABKIT_IDLE_TIMEOUT", DEFAULT_IDLE_TIMEOUT))


def _client(req: Any) -> str:
    conn = req.conn
    return f"{conn.remote_addr}:{conn.remote_port}"


class _Gateway(wsgi.Gateway_10):
    """WSGI 1.0 with the lab's body readers; keeps the connection only after a whole body."""

    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        req = self.req
        rfile = req.conn.rfile
        if req.chunked_read:
            body: Dechunker | SizedBody = _Watched(Dechunker(rfile), req)
        else:
            length = environ.get("CONTENT_LENGTH") or "0"
            body = _Watched(SizedBody(rfile, int(length) if length.isdigit() else 0), req)
        # cheroot drains `req.rfile` after the answer when the connection is kept: it must be
        # the reader the app used, so it knows what is left.
        req.rfile = body
        environ["wsgi.input"] = body
        self._body = body
        return environ

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        body = self._body
        if not body.finished and not 0 < body.remaining <= DRAIN_LIMIT:
            # the rest of the body is still on the wire (a refused upload, a broken client):
            # answer, then close, instead of reading it or parsing it as the next request
            self.req.close_connection = True
            self.req.conn.linger_on_close = True
        return super().start_response(status, headers, exc_info)


class _Watched:
    """A body reader that turns a dead or silent peer into one log line and a clean error."""

    def __init__(self, body: Dechunker | SizedBody, req: Any):
        self._body, self._req = body, req
        self.remaining = getattr(body, "remaining", 0)

    @property
    def finished(self) -> bool:
        return self._body.finished

    def readinto(self, buffer: Any) -> int:
        try:
            n = self._body.readinto(buffer)
        except TimeoutError:
            self._req.close_connection = True
            log.warning("%s sent nothing for %.0fs mid-request (%s %s): connection closed",
                        _client(self._req), idle_timeout(), self._method(), self._path())
            raise
        except ChunkedError:
            self._req.close_connection = True
            raise
        except OSError as e:
            self._req.close_connection = True
            log.warning("%s went away mid-request (%s %s): %s", _client(self._req),
                        self._method(), self._path(), e.strerror or e)
            raise
        self.remaining = getattr(self._body, "remaining", 0)
        return n

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            out = bytearray()
            buf = bytearray(1 << 16)
            while n := self.readinto(buf):
                out += buf[:n]
            return bytes(out)
        buf = bytearray(size)
        n = self.readinto(buf)
        return bytes(buf[:n])

    def _method(self) -> str:
        return self._req.method.decode("latin-1", "replace")

    def _path(self) -> str:
        return self._req.path.decode("latin-1", "replace")


class _Request(cheroot_server.HTTPRequest):
    def send_headers(self) -> None:
        """The Date header from a once-a-second cache: cheroot formats it afresh for every
        answer, which cost as much as the lab's own work for a blob HEAD."""
        if not any(k.lower() == b"date" for k, _ in self.outheaders):
            self.outheaders.append((b"Date", _http_date()))
        super().send_headers()

    def respond(self) -> None:
        """The answer's status line and headers wait for its first body bytes (see
        `_HeldWriter`); whatever is still held when the answer ends (a HEAD, an empty body)
        leaves then."""
        out = self.conn.wfile
        out.hold = True
        try:
            super().respond()
        except BaseException:
            with contextlib.suppress(OSError):  # a dead client must not hide what went wrong
                out.release()
            raise
        out.release()

    def write(self, chunk: bytes) -> None:
        """Response bytes straight to the socket, the held headers in front of the first ones:
        cheroot's writer copies what is left of a 1 MiB block again after every partial send.

        The answer to a HEAD leaves without its body, whatever part of the lab made it (a
        refusal's JSON, a realm, moto's XML): HTTP forbids content there (RFC 9110 9.3.2), and a
        kept-alive client would read those bytes as the start of its next answer. Its headers,
        Content-Length included, stay those of the GET, as HTTP asks."""
        if self.method == b"HEAD":
            chunk = b""
        if self.chunked_write:
            self.conn.wfile.release()
            super().write(chunk)
        else:
            head = self.conn.wfile.take()
            if head or chunk:
                self.conn.socket.sendall(head + chunk if head else chunk)

    def simple_response(self, status: Any, msg: str = "") -> None:
        """cheroot's own answers (bad request line or header, 408, 413, 414, 505): one log
        line, and the body a registry client expects, the spec's JSON error (UNSUPPORTED:
        the request is not one the lab serves), then the connection is closed."""
        status = str(status)
        log.info("%s: %s %s", _client(self), status, msg or "")
        said = f"{status}: {msg}" if msg else status
        body = json.dumps({"errors": [{"code": "UNSUPPORTED", "message": (
            f"The ECR lab's HTTP server refused the request: {said}")}]})
        head = (f"{self.server.protocol} {status}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
        if getattr(self, "method", None) == b"HEAD":  # see `write`: a HEAD's answer has no body
            body = ""
        self.close_connection = True
        self.conn.linger_on_close = True
        try:
            self.conn.wfile.write((head + body).encode("latin-1", "replace"))
        except OSError:
            pass  # the client is gone; there is no one left to tell


class _HeldWriter:
    """cheroot's connection writer, wrapped: while `hold` is set (an answer is being made),
    what is written (the status line and headers) is kept until the body's first bytes, so a
    small answer leaves in one send, not two. Every send is a GIL hand-off, and under load
    each hand-off lets the other request threads run first."""

    def __init__(self, inner: Any):
        self._inner = inner
        self._held = b""
        self.hold = False

    def write(self, data: bytes) -> int:
        if self.hold:
            self._held += data
            return len(data)
        return self._inner.write(data)

    def take(self) -> bytes:
        held, self._held = self._held, b""
        return held

    def release(self) -> None:
        self.hold = False
        if self._held:
            self._inner.write(self.take())

    def __getattr__(self, name: str) -> Any:  # flush, close, bytes_written: cheroot's writer
        return getattr(self._inner, name)


class _Connection(cheroot_server.HTTPConnection):
    RequestHandlerClass = _Request
    rbufsize = READ_BUFFER
    # Set when the lab answered before reading all the client sent (an error, a refused
    # upload): closing at once would make the kernel reset the connection over the unread
    # bytes, and the client could lose the answer. Such a close lingers instead.
    linger_on_close = False

    def __init__(self, server: Any, sock: Any, makefile: Any = cheroot_makefile.MakeFile):
        super().__init__(server, sock, make_files(makefile, self.rbufsize))
        self.wfile = _HeldWriter(self.wfile)

    def close(self) -> None:
        if self.linger_on_close:
            self.linger_on_close = False
            _lingering_close(self.socket)
        super().close()

    def communicate(self) -> bool:
        """Refuse a TLS hello on this plain-HTTP port with a 400 (docker and skopeo probe for
        HTTPS first, and fall back to HTTP on exactly this answer) instead of waiting for a
        request line that never comes."""
        try:
            first = self.rfile.peek(1)[:1]
        except OSError:
            return False
        if first and first[0] == TLS_HANDSHAKE:
            log.info("%s:%s: a TLS hello on the plain-HTTP port: 400, connection closed",
                     self.remote_addr, self.remote_port)
            msg = b"this lab speaks plain HTTP: use http://, not https://\n"
            try:
                self.wfile.write(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
                                 b"Connection: close\r\nContent-Length: %d\r\n\r\n%s"
                                 % (len(msg), msg))
            except OSError:
                pass
            self.linger_on_close = True
            return False
        return self._serve_while_busy()

    def _serve_while_busy(self) -> bool:
        """Serve this connection's requests in this thread while its client keeps sending.

        A registry client on a kept-alive connection sends its next request as soon as it has
        the answer (docker's HEAD after HEAD, a pull's blob after its manifest). Handing the
        connection back to cheroot's selector after each answer costs two thread hand-offs a
        request; waiting a moment here (KEEP_SERVING_WAIT, GIL released) serves the next one
        at once. After KEEP_SERVING_MAX requests, or a quiet moment, the selector has it back
        (so one busy client cannot keep a thread for ever)."""
        for _ in range(KEEP_SERVING_MAX):
            if not super().communicate():
                return False
            if not (self.rfile.has_data() or _readable(self.socket, KEEP_SERVING_WAIT)):
                break
        return True


_date: tuple[int, bytes] = (0, b"")


def _http_date() -> bytes:
    """RFC 9110 date of this second (one formatting a second, not one an answer)."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, formatdate(now, usegmt=True).encode("ascii"))
    return _date[1]


def _readable(sock: socket.socket, wait: float) -> bool:
    try:
        return bool(select.select([sock], [], [], wait)[0])
    except (OSError, ValueError):  # closed meanwhile: the selector finds out and drops it
        return False


def _lingering_close(sock: socket.socket) -> None:
    """Send FIN after the answer, then read (and drop) what the client still sends, for at most
    LINGER_SECONDS or LINGER_BYTES, so it reads the answer before the connection goes."""
    try:
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + LINGER_SECONDS
        left = LINGER_BYTES
        buf = bytearray(1 << 16)
        while left > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock.settimeout(remaining)
            n = sock.recv_into(buf)
            if not n:
                break
            left -= n
    except OSError:
        pass


class FrontDoor(wsgi.Server):
    """The lab's HTTP server: bind with `prepare()`, then `serve()` until `stop()`."""

    ConnectionClass = _Connection

    def __init__(self, app: WSGIApp, host: str = "127.0.0.1", port: int = 0,
                 threads: int = THREADS, timeout: float | None = None):
        super().__init__((host, port), app, numthreads=threads, server_name="labkit",
                         timeout=timeout if timeout is not None else idle_timeout(),
                         shutdown_timeout=2, request_queue_size=128)
        self.gateway = _Gateway

    @property
    def port(self) -> int:
        return self.bind_addr[1]

    @property
    def can_add_keepalive_connection(self) -> bool:
        """Every answer may keep its connection (idle ones cost a selector slot and are closed
        after the idle timeout). cheroot's own check counts the idle connections under its
        selector's lock, which its selector thread holds while it walks them: one wait on
        that lock per answer."""
        return self.ready

    def error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False
                  ) -> None:
        """Network trouble gets one line; anything else (a bug) keeps its traceback."""
        import sys

        exc = sys.exc_info()[1]
        if traceback and exc is not None and not isinstance(exc, OSError):
            log.log(max(level, logging.ERROR), "%s", msg, exc_info=True)
        else:
            log.log(level, "%s", msg if exc is None else f"{msg} ({exc})")
