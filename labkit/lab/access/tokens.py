"""Registry passwords that carry who logged in, where, until when.

GetAuthorizationToken's password (ECR: base64 JSON with `payload`, `datakey`, `version`,
`type`, `expiration`; ecr-messages.md §3 "Token internals") gains the claims docker then acts
with: the principal (ARN, account, kind, names, ids), the region whose endpoint issued it, the
lab that signed it and its expiry. All claims are covered by the lab's HMAC
(labkit/lab/signing.py), so a password cannot be edited into another identity or region.

Passwords of the earlier format (`version` "2", labkit/lab/auth/tokens.py `TokenIssuer`) still open
the lab as the default learner in the lab's default region, so a login made before an upgrade
keeps working until it expires.

A token from region X presented to region Y's registry (ECR: "Authentication requests are tied
to specific regions, and cannot be used across regions", common-errors-docker) is WRONG_REGION:
`docker login` gets 400 Bad Request as on ECR (https://github.com/aws/aws-cli/issues/5317); the
lab's choice for other requests is 403 DENIED with the expired-token sentence, which is what
docker users report after pushing to another region with the wrong login (issue 19).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from ..auth.signing import Signer
from ..auth.tokens import USERNAME, Token, TokenIssuer
from ..auth.tokens import Verdict as LegacyVerdict
from .principals import Principal

VERSION = "3"
CLAIMS = ("lab", "expiration", "datakey", "region", "issued", "principal")  # all signed
VERIFIED_LIMIT = 1024


class Verdict(Enum):
    OK = "ok"
    MISSING = "missing"  # no Authorization header: 401 with the Basic challenge
    INVALID = "invalid"  # not this lab's token: 401 (docker login: 400, see the registry gate)
    EXPIRED = "expired"  # 403 DENIED "Your authorization token has expired..."
    WRONG_REGION = "wrong-region"  # another region's token: login 400, else 403 DENIED


@dataclass(frozen=True)
class Claims:
    principal: Principal
    region: str
    expires_at: int
    issued_at: int | None = None  # None for passwords of the first format

    def __repr__(self) -> str:
        return f"Claims({self.principal.arn}, {self.region}, expires_at={self.expires_at})"


AccountTime = Callable[[str], float]  # an account's token clock: its now


def wall_clock(_account: str) -> float:
    return time.time()


class RegistryTokens:
    """Issues and checks registry passwords for one lab (its signer and id).

    Tokens are issued and judged by the token clock of the account whose principal they name
    (`clock(account)`): in a room, a learner who makes the next morning come for their own
    tokens (notebook 08) expires nobody else's login."""

    def __init__(self, signer: Signer, lab_id: str, *, default: Principal, default_region: str,
                 clock: AccountTime = wall_clock):
        self._signer = signer
        self.lab_id = lab_id
        self._default = default
        self._default_region = default_region
        self._legacy = TokenIssuer(signer, lab_id)
        self._clock = clock
        self._verified: dict[str, Claims] = {}

    def now(self, account: str | None = None) -> float:
        """The time `account`'s tokens are issued and judged at (default: the lab's own
        account's): the lab's token clock, plus the account's own offset."""
        return float(self._clock(account or self._default.account))

    def issue(self, principal: Principal, region: str, ttl: float) -> Token:
        """GetAuthorizationToken's token for `principal` at `region`'s endpoint."""
        now = self._clock(principal.account)
        expires = int(now + ttl)  # whole seconds, never longer than ttl (auth.py)
        nonce = secrets.token_urlsafe(12)
        claims = {"lab": self.lab_id, "expiration": expires, "datakey": nonce, "region": region,
                  "issued": int(now), "principal": asdict(principal)}
        doc = {"payload": self._signer.sign(_canonical(claims)), "version": VERSION,
               "type": "DATA_KEY", **claims}
        password = base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()
        return Token(password, float(expires))

    def claims_of_password(self, password: str) -> Claims | None:
        """The claims of a password this lab signed (any region, expired or not), else None."""
        try:
            doc = json.loads(base64.b64decode(password, validate=True))
            if not isinstance(doc, dict):
                return None
            if doc.get("version") != VERSION:
                return self._legacy_claims(password)
            claims = {k: doc[k] for k in CLAIMS if k in doc}
            if claims["lab"] != self.lab_id or not self._signer.verify(_canonical(claims),
                                                                        doc["payload"]):
                return None
            return Claims(Principal(**claims["principal"]), str(claims["region"]),
                          int(claims["expiration"]),
                          int(claims["issued"]) if "issued" in claims else None)
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
            return None

    def _legacy_claims(self, password: str) -> Claims | None:
        verdict = self._legacy.check_password(password, now=0)  # 0: read the expiry, judge later
        if verdict is not LegacyVerdict.OK:
            return None
        doc = json.loads(base64.b64decode(password))
        issued = doc.get("issued")
        return Claims(self._default, self._default_region, int(doc["expiration"]),
                      int(issued) if issued is not None else None)

    def check_header(self, header: str | None, region: str,
                     now: float | None = None) -> tuple[Verdict, Claims | None]:
        """Judge a registry request's Authorization header at `region`'s registry."""
        if not header:
            return Verdict.MISSING, None
        claims = self._verified.get(header)
        if claims is None:
            claims = self._claims_of_header(header)
            if claims is None:
                return Verdict.INVALID, None
            if len(self._verified) >= VERIFIED_LIMIT:
                self._verified.clear()
            self._verified[header] = claims
        if claims.expires_at <= (self.now(claims.principal.account) if now is None else now):
            return Verdict.EXPIRED, claims
        if claims.region != region:
            return Verdict.WRONG_REGION, claims
        return Verdict.OK, claims

    def _claims_of_header(self, header: str) -> Claims | None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode(
            ).partition(":")
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        return self.claims_of_password(password) if user == USERNAME else None


def _canonical(claims: dict[str, Any]) -> str:
    return json.dumps(claims, sort_keys=True, separators=(",", ":"))
