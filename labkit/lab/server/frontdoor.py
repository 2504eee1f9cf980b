"""The lab's HTTP front door: granian's embedded server, behind a seam the lab owns.

Why granian (measurements in docs/frontdoor.md, `tests/bench/bench_frontdoor.py`): its HTTP/1.1
(keep-alive, chunked bodies, TLS) is Rust's hyper, so parsing and socket work cost the lab's
Python next to nothing; it ships wheels for Linux, macOS and Windows; and its *embedded*
server (documented: `granian.server.embed.Server`) runs in the lab's own process, on an
asyncio loop, with no worker processes to supervise: `lab.json`'s pid, its SIGTERM and its CPU
accounting name the process that serves.

What the lab adds, through granian's documented API only (the embedded server's constructor,
`on_startup`, `serve`, `stop`, and ASGI, the protocol its app speaks):
- the WSGI bridge (`wsgibridge.py`): the lab's synchronous app in a pool of threads, request
  bodies streamed to it with a read timeout, `Connection: close` after an unread body;
- an idle timeout (LABKIT_IDLE_TIMEOUT): a client silent mid-body is cut by the bridge with
  one log line; headers not received within the timeout, or a kept-alive connection idle for
  as long, are closed by the server (its `header_read_timeout`);
- `prepare()` (bind, then return), `serve()` (until `stop()`), `port`, the way the lab's
  start path and the test helpers run it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
import struct
import threading
import time
from pathlib import Path
from typing import Any

from .wsgibridge import Bridge, WSGIApp

log = logging.getLogger("labkit.lab.http")

# A client that goes silent mid-request (a laptop lid closed mid-push: no FIN, no RST) would
# hold its thread, and the lock of its upload session, forever. After this many seconds without
# a byte the read fails, the half-received chunk is rolled back and the session can resume.
# Idle keep-alive connections are closed after the same time.
DEFAULT_IDLE_TIMEOUT = 120.0
# Threads running the app at once; idle keep-alive connections do not hold one.
THREADS = 32
BACKLOG = 1024  # connections waiting to be accepted; also granian's cap on open connections
START_TIMEOUT = 30.0  # seconds for the server to bind
STOP_TIMEOUT = 10.0  # seconds for it to finish and let the port go
SETTLE_QUIET = 0.2  # seconds without a request in flight before the loop closes (stop())


def _logging_left_alone() -> dict[str, Any]:
    """granian's server applies a logging dictConfig when built; a full one would close every
    handler the lab (or a notebook, or pytest) installed. An incremental one only sets the
    level of granian's own logger (log_enabled=False: silent; the lab logs what it needs).
    A fresh dict each time: granian fills in its "loggers"."""
    return {"version": 1, "incremental": True, "formatters": {}, "handlers": {}, "loggers": {}}


def idle_timeout() -> float:
    return float(os.environ.get("LABKIT_IDLE_TIMEOUT", DEFAULT_IDLE_TIMEOUT))


class FrontDoor:
    """The lab's HTTP server: bind with `prepare()`, then `serve()` until `stop()`.

    `certificate` (a PEM certificate chain and its PKCS#8 key) serves HTTPS instead of HTTP."""

    def __init__(self, app: WSGIApp, host: str = "127.0.0.1", port: int = 0,
                 threads: int = THREADS, timeout: float | None = None,
                 certificate: tuple[Path, Path] | None = None):
        self.app = app
        self.host = host
        self.port = port
        self.threads = threads
        self.timeout = timeout if timeout is not None else idle_timeout()
        self.certificate = certificate
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._bound = threading.Event()
        self._error: BaseException | None = None

    def prepare(self) -> None:
        """Bind the port and start serving in the background; return once a connection to
        it is accepted. OSError if the port is taken (by anything, a lab included)."""
        self.port = _claimable(self.host, self.port)
        self._thread = threading.Thread(target=self._run, name="labkit-frontdoor", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        self._bound.wait(START_TIMEOUT)
        while self._error is None and self._thread.is_alive():
            if _accepts(self.host, self.port):
                return
            if time.monotonic() > deadline:
                break
            time.sleep(0.005)
        self.stop()
        err = self._error
        if isinstance(err, OSError):
            raise err
        raise OSError(f"cannot listen on {self.host}:{self.port}: {err or 'no answer'}")

    def serve(self) -> None:
        """Wait until `stop()` (prepare() first if not yet bound)."""
        if self._thread is None:
            self.prepare()
        assert self._thread is not None
        while self._thread.is_alive():  # a timed join: Ctrl-C still reaches the main thread
            self._thread.join(0.5)

    def stop(self) -> None:
        """Stop accepting and serving; return once the server is down and its port free."""
        loop, server = self._loop, self._server
        if loop is not None and server is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(server.stop)
        if self._thread is None or self._thread is threading.current_thread():
            return
        self._thread.join(STOP_TIMEOUT)
        deadline = time.monotonic() + STOP_TIMEOUT  # granian's runtime closes the listener
        while time.monotonic() < deadline:  # a moment after its Python side returned
            try:
                _claimable(self.host, self.port)
                return
            except OSError:
                time.sleep(0.01)

    # ---- the server's own thread ----

    def _run(self) -> None:
        bridge = Bridge(self.app, self.threads, self.timeout)
        try:
            asyncio.run(self._main(bridge))
        except BaseException as e:  # noqa: BLE001 - reported by prepare() or logged
            if not self._bound.is_set():
                self._error = e
            else:
                log.exception("the front door stopped")
        finally:
            # granian's runtime goes when its server object goes: now, while the interpreter
            # is whole, not at its exit (where a callback still pending, say for a client that
            # half-closed its connection, aborts the process: "panic in a function that
            # cannot unwind")
            self._server = self._loop = None
            gc.collect()
            bridge.close()
            self._bound.set()

    async def _main(self, bridge: Bridge) -> None:
        from granian.constants import HTTPModes, Interfaces
        from granian.http import HTTP1Settings
        from granian.server.embed import Server

        self._loop = asyncio.get_running_loop()
        cert, key = self.certificate or (None, None)
        server = Server(bridge, address=self.host, port=self.port, interface=Interfaces.ASGINL,
                        http=HTTPModes.http1, websockets=False, backlog=BACKLOG,
                        http1_settings=HTTP1Settings(
                            header_read_timeout=int(self.timeout * 1000), keep_alive=True),
                        log_enabled=False, log_dictconfig=_logging_left_alone(),
                        ssl_cert=cert, ssl_key=key)
        server.on_startup(self._bound.set)
        self._server = server
        await server.serve()
        await bridge.settle(SETTLE_QUIET, STOP_TIMEOUT / 2)


def _claimable(host: str, port: int) -> int:
    """`port` (0: a free one, chosen here) if nothing is bound to it now, else OSError.

    Why: granian binds by number, and on Linux with SO_REUSEPORT, so a second lab given the
    same port would bind it too and the two would share its connections. This bind (without
    SO_REUSEPORT) fails while any socket listens on the port, a granian one included; with
    SO_REUSEADDR on POSIX, as servers bind, connections of a lab just stopped (TIME-WAIT) do
    not hold the port (on Windows that option would let a bind steal a port in use)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        if os.name == "posix":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        return s.getsockname()[1]


def _accepts(host: str, port: int) -> bool:
    """A connection is accepted (then reset, so no closed connection lingers on the port).
    A server on every address is reached on loopback (Windows refuses to connect to 0.0.0.0)."""
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return True
    except OSError:
        return False
