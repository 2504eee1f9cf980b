"""The registry's token check: a header whose signature was verified once is remembered, but
it still expires on time, and nothing it did not sign gets in."""

from __future__ import annotations

import base64
import secrets

from labkit.lab.auth.signing import Signer
from labkit.lab.auth.tokens import TokenIssuer, Verdict


def header(password: str, user: str = "AWS") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_a_remembered_header_still_expires() -> None:
    issuer = TokenIssuer(Signer(secrets.token_bytes(32)), "lab-1")
    token = issuer.issue(60, now=1000.0)
    h = header(token.password)
    assert issuer.check_header(h, now=1000.0) is Verdict.OK
    assert issuer.check_header(h, now=1030.0) is Verdict.OK  # from memory now
    assert issuer.check_header(h, now=1060.0) is Verdict.EXPIRED
    assert issuer.check_header(h, now=1000.0) is Verdict.OK  # the clock decides, each time


def test_another_labs_or_a_tampered_token_is_never_remembered_as_good() -> None:
    mine = TokenIssuer(Signer(secrets.token_bytes(32)), "lab-1")
    other = TokenIssuer(Signer(secrets.token_bytes(32)), "lab-2")
    foreign = header(other.issue(60, now=1000.0).password)
    for _ in range(2):
        assert mine.check_header(foreign, now=1000.0) is Verdict.INVALID
    token = mine.issue(60, now=1000.0)
    assert mine.check_header(header(token.password, user="admin"), now=1000.0) \
        is Verdict.INVALID
    assert mine.check_header(header(token.password[:-4] + "AAAA"), now=1000.0) \
        is Verdict.INVALID
