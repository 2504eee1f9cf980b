"""Registry credentials as ECR issues them: Basic `AWS:<password>`, password from GetAuthorizationToken.

The password is an HMAC-signed, expiring token (shaped like ECR's base64 JSON), so the lab needs
no token table: any token it signed and that has not expired opens its registry, and no other lab's.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .signing import Signer

USERNAME = "AWS"
SERVICE = "ecr.amazonaws.com"
EXPIRED_MESSAGE = "Your authorization token has expired. Reauthenticate and try again."
MAX_TTL = 12 * 3600.0  # ECR's tokens last 12 hours; a lab's may be shorter, never longer


def lifetime_of(doc: Any) -> float:
    """The token lifetime a settings request asks for (`{"token_ttl": seconds}`): from 1 s (02's
    expiry exercise) to ECR's 12 h; ValueError, KeyError or TypeError otherwise."""
    ttl = float(doc["token_ttl"])
    if not 1 <= ttl <= MAX_TTL:
        raise ValueError("token_ttl must be between 1 and 43200 seconds")
    return ttl


class Verdict(Enum):
    OK = "ok"
    MISSING = "missing"  # no Authorization header: 401 with the challenge
    INVALID = "invalid"  # wrong user, bad signature, another lab's token: 401
    EXPIRED = "expired"  # a good token past its time: 403 DENIED, as ECR answers


@dataclass(frozen=True)
class Token:
    password: str
    expires_at: float

    @property
    def authorization_token(self) -> str:
        """What GetAuthorizationToken returns: base64("AWS:<password>")."""
        return base64.b64encode(f"{USERNAME}:{self.password}".encode()).decode()

    def __repr__(self) -> str:
        return f"Token(password=***, expires_at={self.expires_at:.0f})"


VERIFIED_LIMIT = 1024  # remembered good headers (one per live token and client)


class TokenIssuer:
    def __init__(self, signer: Signer, lab_id: str, clock: Callable[[], float] = time.time):
        """`clock`: the wall clock, or the lab's token clock (housekeeping/clock.py TOKEN_FILE),
        which only tests move: never the lab clock a learner advances."""
        self._signer = signer
        self.lab_id = lab_id
        self._clock = clock
        # Authorization headers whose signature checked out -> their expiry: a pull sends the
        # same header with every request, and its signature does not change meaning.
        self._verified: dict[str, int] = {}

    def issue(self, ttl: float, now: float | None = None) -> Token:
        # whole seconds, as ECR's tokens: a token lives between ttl - 1 and ttl seconds (never
        # longer, so a 12 h token reads as at most 12 h); tests with short TTLs leave a margin
        at = now if now is not None else self._clock()
        issued = int(at)
        expires = int(at + ttl)
        nonce = secrets.token_urlsafe(12)
        body = _signed_body(self.lab_id, expires, nonce, issued)
        doc = {"payload": self._signer.sign(body), "datakey": nonce, "version": "2",
               "type": "DATA_KEY", "expiration": expires, "issued": issued, "lab": self.lab_id}
        password = base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()
        return Token(password, float(expires))

    def check_password(self, password: str, now: float | None = None) -> Verdict:
        expires = self._signed_expiry(password)
        return Verdict.INVALID if expires is None else self._by_expiry(expires, now)

    def _signed_expiry(self, password: str) -> int | None:
        """The password's expiry if this lab signed it, else None."""
        times = self._signed_times(password)
        return times[1] if times is not None else None

    def _signed_times(self, password: str) -> tuple[int | None, int] | None:
        """(issued, expires) of a password this lab signed (issued is None for a password
        made before tokens carried it), else None."""
        try:
            doc = json.loads(base64.b64decode(password, validate=True))
            issued = int(doc["issued"]) if "issued" in doc else None
            body = _signed_body(doc["lab"], int(doc["expiration"]), doc["datakey"], issued)
            good = doc["lab"] == self.lab_id and self._signer.verify(body, doc["payload"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        return (issued, int(doc["expiration"])) if good else None

    def lifetime(self, header: str | None) -> tuple[int | None, int] | None:
        """(issued, expires) of the lab's token in a Basic Authorization header, else None:
        what the trace keeps about a refused (expired) token, so that an explanation can say
        when it was issued and how long it lived."""
        scheme, _, value = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            _, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        return self._signed_times(password)

    def check_header(self, header: str | None, now: float | None = None) -> Verdict:
        """Judge an Authorization header the way ECR's registry endpoint does."""
        if not header:
            return Verdict.MISSING
        expires = self._verified.get(header)
        if expires is not None:
            return self._by_expiry(expires, now)
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return Verdict.INVALID
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return Verdict.INVALID
        if user != USERNAME:
            return Verdict.INVALID
        expires = self._signed_expiry(password)
        if expires is None:
            return Verdict.INVALID
        if len(self._verified) >= VERIFIED_LIMIT:
            self._verified.clear()
        self._verified[header] = expires
        return self._by_expiry(expires, now)

    def _by_expiry(self, expires: int, now: float | None) -> Verdict:
        return Verdict.EXPIRED if expires <= (now if now is not None else self._clock()) \
            else Verdict.OK


def _signed_body(lab: str, expires: int, nonce: str, issued: int | None) -> str:
    """What the signature covers (the issue time too, for tokens that carry it)."""
    body = f"{lab}.{expires}.{nonce}"
    return body if issued is None else f"{body}.{issued}"

