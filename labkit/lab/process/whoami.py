"""The lab's own process endpoints: prove who it is, and stop when its home's secret asks.

- `GET /_labkit/whoami?challenge=NONCE`: the lab's home and PID, and an HMAC over the nonce,
  the PID and the home made with the home's secret. A stale `lab.json` whose PID now belongs to
  another process (or whose port another lab holds) fails this proof, so nothing acts on it.
- `POST /_labkit/shutdown` with `{"pid", "issued", "proof"}`: the one way to stop the lab that
  works on every OS (Windows has no SIGTERM to send a detached process). A wrong or missing
  proof gets 403 and the lab stays up.

Stopping raises SIGTERM inside the lab, after the response is sent: the entry point's SIGTERM
handler (a graceful server shutdown) stays the one place that knows how to stop the server.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from ..auth.signing import Signer
from .identity import SHUTDOWN, WHOAMI, check_shutdown, whoami_proof

log = logging.getLogger("labkit.lab")
Environ = dict[str, Any]
StartResponse = Callable[..., Any]

PATHS = (WHOAMI, SHUTDOWN)
MAX_BODY = 4096


def raise_sigterm() -> None:
    """Ask this process to stop the way `kill PID` would; works on Windows too (in-process)."""
    signal.raise_signal(signal.SIGTERM)


class _ThenStop:
    """A response body that triggers the stop once the server has sent it (WSGI calls close)."""

    def __init__(self, body: bytes, stop: Callable[[], None]):
        self._body, self._stop = body, stop

    def __iter__(self) -> Iterator[bytes]:
        yield self._body

    def close(self) -> None:
        self._stop()


class WhoamiRoutes:
    """Answers the two lifecycle paths for the lab serving `home`."""

    def __init__(self, signer: Signer, home: Path, on_stop: Callable[[], None] = raise_sigterm):
        self._signer, self._home, self._on_stop = signer, str(home), on_stop

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == WHOAMI and method == "GET":
            challenge = (parse_qs(environ.get("QUERY_STRING", "")).get("challenge") or [""])[0]
            if not 16 <= len(challenge) <= 128:
                return _json(start_response, "400 Bad Request",
                             {"error": "challenge must be 16 to 128 characters"})
            pid = os.getpid()
            return _json(start_response, "200 OK", {
                "home": self._home, "pid": pid,
                "proof": whoami_proof(self._signer, challenge, pid, self._home)})
        if path == SHUTDOWN and method == "POST":
            return self._shutdown(environ, start_response)
        return _json(start_response, "405 Method Not Allowed",
                     {"error": f"{method} is not allowed on {path}"})

    def _shutdown(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            return _json(start_response, "400 Bad Request",
                         {"error": f"send a JSON body of at most {MAX_BODY} bytes"})
        try:
            doc = json.loads(environ["wsgi.input"].read(length))
        except ValueError:
            doc = None
        refused = check_shutdown(self._signer, os.getpid(), doc)
        if refused:
            log.warning("refused a shutdown request: %s", refused)
            return _json(start_response, "403 Forbidden", {"error": refused})
        log.info("stopping: asked by a client holding this home's secret")
        body = json.dumps({"stopping": os.getpid()}).encode()
        start_response("202 Accepted", [("Content-Type", "application/json"),
                                        ("Content-Length", str(len(body))),
                                        ("Connection", "close")])
        return _ThenStop(body, self._on_stop)


def _json(start_response: StartResponse, status: str, doc: Any) -> list[bytes]:
    out = json.dumps(doc).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(out)))])
    return [out]
