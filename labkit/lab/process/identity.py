"""Proofs that a process is the lab of one home, made with the secret stored in that home.

`labkit lab down` and `lab status` must act only on this home's lab, never on whatever PID a
stale `lab.json` names. Both sides compute the same HMACs: the lab with the secret it loaded at
start, the CLI with the secret it reads from the home. Only someone who can read
`HOME/secret.key` (mode 0600) can answer a challenge, or sign a request to the lab's own
endpoints (`labkit/lab/auth/admin.py`), such as the one that stops it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports this module on its quick path; signing loads OpenSSL
    from ..auth.signing import Signer

SECRET_FILE = "secret.key"
WHOAMI = "/_labkit/whoami"  # the lab's endpoints for these proofs (served by whoami.py)
SHUTDOWN = "/_labkit/shutdown"


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
