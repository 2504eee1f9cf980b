"""The lab's own process endpoints: prove who it is, and stop when its home's secret asks.

- `GET /_labkit/whoami?challenge=NONCE`: the lab's home and PID, and an HMAC over the nonce,
  the PID and the home made with the home's secret. A stale `lab.json` whose PID now belongs to
  another process (or whose port another lab holds) fails this proof, so nothing acts on it.
  The one `/_labkit/` endpoint that needs no signed request: the answer is itself the proof.
- `POST /_labkit/shutdown` with `{"pid": PID}`, signed with the home's secret like every other
  `/_labkit/` request (`labkit/lab/auth/admin.py`): the one way to stop the lab that works on
  every OS (Windows has no SIGTERM to send a detached process). The PID is the one the client
  found in `lab.json`: a request meant for an earlier lab of the same home stops nothing.

Stopping raises SIGTERM inside the lab, after the response is sent: the entry point's SIGTERM
handler (a graceful server shutdown) stays the one place that knows how to stop the server.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..auth.signing import Signer
from .identity import SHUTDOWN, WHOAMI, whoami_proof

log = logging.getLogger("labkit.lab")

PATHS = (WHOAMI, SHUTDOWN)
Reply = tuple[str, dict[str, Any]]  # (HTTP status, JSON document)


def raise_sigterm() -> None:
    """Ask this process to stop the way `kill PID` would; works on Windows too (in-process)."""
    signal.raise_signal(signal.SIGTERM)


class WhoamiRoutes:
    """Answers the two process paths for the lab serving `home` (the admin app routes them)."""

    def __init__(self, signer: Signer, home: Path, on_stop: Callable[[], None] = raise_sigterm):
        self._signer, self._home, self.on_stop = signer, str(home), on_stop

    def whoami(self, challenge: str) -> Reply:
        if not 16 <= len(challenge) <= 128:
            return "400 Bad Request", {"error": "challenge must be 16 to 128 characters"}
        pid = os.getpid()
        return "200 OK", {"home": self._home, "pid": pid,
                          "proof": whoami_proof(self._signer, challenge, pid, self._home)}

    def shutdown(self, doc: Any) -> Reply:
        """202 once the (already authenticated) request names this lab's PID; the caller
        stops the lab with `on_stop` after the answer is sent."""
        pid = os.getpid()
        try:
            asked = int(doc["pid"])
        except (KeyError, TypeError, ValueError):
            return "400 Bad Request", {"error": 'expected a JSON object {"pid": PID}'}
        if asked != pid:
            log.warning("refused a shutdown request for pid %s (this lab is pid %s)", asked, pid)
            return "409 Conflict", {"error": f"this lab is pid {pid}, not {asked}"}
        log.info("stopping: asked by a client holding this home's secret")
        return "202 Accepted", {"stopping": pid}
