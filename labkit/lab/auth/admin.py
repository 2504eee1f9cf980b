"""Signed requests to the lab's own endpoints (`/_labkit/`): only the home's secret opens them.

Changing a running lab (token lifetime, clock, lifecycle runs, shutdown) and reading what it saw
(its trace, the operations it answered) is for whoever can read `LABKIT_HOME/secret.key`: the
learner on their own machine, the instructor in a room, never a learner of the room nor a web
page the learner visits. Each request carries

    Authorization: Labkit ts=<unix seconds>,nonce=<16 to 64 url-safe characters>,sig=<HMAC>

where the HMAC covers the method, the path, the query string, the time, the nonce and the
SHA-256 of the body, made with a key derived from the secret (so no other use of the secret,
such as a registry token or a storage URL, can ever be mistaken for one). A request cannot be
altered on the way, is accepted only within WINDOW seconds of its time, and only once: the lab
remembers each nonce for as long as it would accept its time.

Both sides are here: `authorization()` for clients (labkit's `Lab`, `labkit lab down`), and
`AdminVerifier` for the lab. Standard library only: the CLI's quick paths import it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable

from .signing import Signer

SCHEME = "Labkit"
WINDOW = 300.0  # seconds between the request's time and the lab's, either way
KEY_LABEL = b"labkit-admin-key-v1"
PRUNE_AT = 1024  # remembered nonces before the expired ones are forgotten
NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
NEEDS_SECRET = ("the lab's own endpoints need the lab's secret: sign the request with the key "
                "in LABKIT_HOME/secret.key of the home that started this lab (labkit's own "
                "client does, e.g. `labkit.lab.running().status()`)")


def admin_signer(secret: bytes) -> Signer:
    """The signer of admin requests: a key derived from the home's secret, used for nothing
    else."""
    return Signer(hmac.new(secret, KEY_LABEL, hashlib.sha256).digest())


def string_to_sign(method: str, path: str, query: str, ts: str, nonce: str, body: bytes) -> str:
    return "\n".join(["labkit-admin-v1", method.upper(), path, query, ts, nonce,
                      hashlib.sha256(body).hexdigest()])


def authorization(secret: bytes, method: str, path: str, query: str = "", body: bytes = b"",
                  now: float | None = None, nonce: str | None = None) -> str:
    """The `Authorization` header value for one request (sign it just before sending)."""
    ts = str(int(time.time() if now is None else now))
    nonce = nonce or secrets.token_urlsafe(18)
    sig = admin_signer(secret).sign(string_to_sign(method, path, query, ts, nonce, body))
    return f"{SCHEME} ts={ts},nonce={nonce},sig={sig}"


def parse(header: str) -> dict[str, str] | None:
    """The fields of a `Labkit` Authorization header, or None if it is not one."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != SCHEME.lower():
        return None
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return {}
        fields[key.strip().lower()] = value.strip()
    return fields


class AdminVerifier:
    """The lab's side: is this request signed with the home's secret, fresh and new?"""

    def __init__(self, secret: bytes, window: float = WINDOW,
                 clock: Callable[[], float] = time.time):
        self._signer = admin_signer(secret)
        self._window = window
        self._clock = clock  # the wall clock: the lab's own clock may be moved forward
        self._seen: dict[str, float] = {}  # nonce -> until when it must be remembered
        self._prune_at = PRUNE_AT
        self._lock = threading.Lock()

    def check(self, method: str, path: str, query: str, body: bytes,
              header: str | None) -> str | None:
        """Why the request is refused, or None if it carries a good, fresh, unused signature."""
        if not header:
            return NEEDS_SECRET
        fields = parse(header)
        if fields is None:
            scheme = header.strip().split(" ", 1)[0][:20]
            return f"{NEEDS_SECRET}; an Authorization: {scheme} header does not open them"
        ts, nonce, sig = fields.get("ts", ""), fields.get("nonce", ""), fields.get("sig", "")
        if not (ts.isdigit() and NONCE.match(nonce) and sig):
            return ("malformed Authorization header: expected "
                    f"`{SCHEME} ts=<unix seconds>,nonce=<16 to 64 url-safe characters>,sig=...`")
        if not self._signer.verify(string_to_sign(method, path, query, ts, nonce, body), sig):
            return ("the signature does not match this lab's secret (signed with another "
                    "home's secret.key, or the request was altered on the way)")
        now = self._clock()
        skew = int(ts) - now
        if abs(skew) > self._window:
            return (f"the request was signed {abs(skew):.0f}s "
                    f"{'ahead of' if skew > 0 else 'behind'} the lab's clock (more than "
                    f"{self._window:.0f}s): sign a fresh one, and check the machine's clock")
        with self._lock:
            if len(self._seen) >= self._prune_at:  # forget what has expired; amortized O(1)
                self._seen = {n: t for n, t in self._seen.items() if t > now}
                self._prune_at = max(PRUNE_AT, 2 * len(self._seen))
            if self._seen.get(nonce, 0) > now:
                return "this request was already used (its nonce was seen): sign a fresh one"
            self._seen[nonce] = int(ts) + self._window + 1
        return None

    def __repr__(self) -> str:
        return "AdminVerifier(secret=***)"
