"""Proofs that a process is the lab of one home, made with the secret stored in that home.

`labkit lab down` and `lab status` must act only on this home's lab, never on whatever PID a
stale `lab.json` names. Both sides compute the same HMACs: the lab with the secret it loaded at
start, the CLI with the secret it reads from the home. Only someone who can read
`HOME/secret.key` (mode 0600) can answer a challenge or ask the lab to stop.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports this module on its quick path; signing loads OpenSSL
    from ..auth.signing import Signer

SECRET_FILE = "secret.key"
WHOAMI = "/_labkit/whoami"  # the lab's endpoints for these proofs (served by lifecycle.py)
SHUTDOWN = "/_labkit/shutdown"
# A shutdown request carries the time it was made; the lab refuses one older than this, so a
# request seen once (a proxy log, a capture) cannot stop a later lab of the same home.
SHUTDOWN_WINDOW = 300.0


def read_secret(home: Path) -> bytes | None:
    """The home's secret, or None if there is none (then no lab ever ran there). Never creates
    one, unlike `signing.load_secret`: a client must not mint the secret a lab will prove with."""
    try:
        return (home / SECRET_FILE).read_bytes()
    except OSError:
        return None


def whoami_proof(signer: Signer, challenge: str, pid: int, home: str) -> str:
    """The lab's answer to a challenge: binds the client's nonce to the lab's PID and home."""
    return signer.sign(f"labkit-whoami|{challenge}|{pid}|{home}")


def shutdown_proof(signer: Signer, pid: int, issued: float) -> str:
    """What a client signs to stop the lab whose PID is `pid`."""
    return signer.sign(f"labkit-shutdown|{pid}|{issued:.3f}")


def check_shutdown(signer: Signer, pid: int, doc: object, now: float | None = None) -> str | None:
    """Why a shutdown request is refused, or None if it proves the home's secret."""
    if not isinstance(doc, dict):
        return "expected a JSON object with pid, issued and proof"
    try:
        asked_pid, issued, proof = int(doc["pid"]), float(doc["issued"]), str(doc["proof"])
    except (KeyError, TypeError, ValueError):
        return "expected a JSON object with pid, issued and proof"
    if asked_pid != pid:
        return f"this lab is pid {pid}, not {asked_pid}"
    now = time.time() if now is None else now
    if abs(now - issued) > SHUTDOWN_WINDOW:
        return "the request is too old (or from the future): sign a fresh one"
    if not signer.verify(f"labkit-shutdown|{asked_pid}|{issued:.3f}", proof):
        return "the proof does not match this lab's secret (another home's lab?)"
    return None
