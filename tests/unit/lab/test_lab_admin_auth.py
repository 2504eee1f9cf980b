"""The signature on requests to the lab's own endpoints (labkit/lab/auth/admin.py): what opens
them (the home's secret, fresh, once) and what does not, each with a reason that says why."""

from __future__ import annotations

import pytest

from labkit.lab.auth.admin import WINDOW, AdminVerifier, authorization, parse

SECRET = b"k" * 32
NOW = 1_800_000_000.0
REQUEST = ("POST", "/_labkit/settings", "a=1", b'{"token_ttl": 5}')


def verifier(now: float = NOW) -> AdminVerifier:
    return AdminVerifier(SECRET, clock=lambda: now)


def signed(secret: bytes = SECRET, request: tuple[str, str, str, bytes] = REQUEST,
           now: float = NOW, nonce: str | None = None) -> str:
    return authorization(secret, *request, now=now, nonce=nonce)


def test_a_fresh_request_signed_with_the_homes_secret_opens() -> None:
    assert verifier().check(*REQUEST, signed()) is None


def test_the_same_request_opens_only_once() -> None:
    v, header = verifier(), signed()
    assert v.check(*REQUEST, header) is None
    assert "already used" in (v.check(*REQUEST, header) or "")
    assert v.check(*REQUEST, signed()) is None  # a fresh nonce: a new request


@pytest.mark.parametrize(("changed", "field"), [
    (("GET", "/_labkit/settings", "a=1", b'{"token_ttl": 5}'), "method"),
    (("POST", "/_labkit/clock", "a=1", b'{"token_ttl": 5}'), "path"),
    (("POST", "/_labkit/settings", "a=2", b'{"token_ttl": 5}'), "query"),
    (("POST", "/_labkit/settings", "a=1", b'{"token_ttl": 1}'), "body"),
])
def test_a_request_altered_on_the_way_is_refused(changed: tuple, field: str) -> None:
    assert "does not match" in (verifier().check(*changed, signed()) or ""), field


def test_another_homes_secret_does_not_open() -> None:
    why = verifier().check(*REQUEST, signed(secret=b"x" * 32)) or ""
    assert "does not match this lab's secret" in why


@pytest.mark.parametrize(("signed_at", "words"), [
    (NOW - WINDOW - 5, "behind"), (NOW + WINDOW + 5, "ahead of")])
def test_a_stale_or_future_request_is_refused(signed_at: float, words: str) -> None:
    why = verifier().check(*REQUEST, signed(now=signed_at)) or ""
    assert words in why and "sign a fresh one" in why


def test_within_the_window_either_way_it_opens() -> None:
    assert verifier().check(*REQUEST, signed(now=NOW - WINDOW + 5)) is None
    assert verifier().check(*REQUEST, signed(now=NOW + WINDOW - 5)) is None


@pytest.mark.parametrize(("header", "words"), [
    (None, "need the lab's secret"), ("", "need the lab's secret"),
    ("Basic QVdTOnBhc3M=", "an Authorization: Basic header does not open them"),
    ("Bearer abc", "an Authorization: Bearer header does not open them"),
    ("Labkit", "malformed"), ("Labkit ts=1,nonce=short,sig=x", "malformed"),
    ("Labkit ts=abc,nonce=" + "n" * 20 + ",sig=x", "malformed"),
    ("Labkit garbage", "malformed"),
])
def test_anything_else_is_refused_with_a_reason(header: str | None, words: str) -> None:
    assert words in (verifier().check(*REQUEST, header) or "")


def test_a_replay_is_refused_for_as_long_as_its_time_is_accepted() -> None:
    clock = [NOW]
    v = AdminVerifier(SECRET, clock=lambda: clock[0])
    header = signed()
    assert v.check(*REQUEST, header) is None
    for later in (1, WINDOW / 2, WINDOW):
        clock[0] = NOW + later
        assert "already used" in (v.check(*REQUEST, header) or "")
    clock[0] = NOW + WINDOW + 2
    assert "behind" in (v.check(*REQUEST, header) or "")  # then its time refuses it


def test_remembered_nonces_are_forgotten_once_expired() -> None:
    """Memory stays bounded by the requests of one window, however many windows pass."""
    clock = [NOW]
    v = AdminVerifier(SECRET, clock=lambda: clock[0])
    for _ in range(10):
        for _ in range(1000):
            assert v.check(*REQUEST, signed(now=clock[0])) is None
        clock[0] += WINDOW + 2
    assert len(v._seen) < 3000  # noqa: SLF001 - the memory's size is the point here
    last = signed(now=clock[0])
    assert v.check(*REQUEST, last) is None
    assert "already used" in (v.check(*REQUEST, last) or "")


def test_the_header_parses_and_hides_nothing_of_the_secret() -> None:
    header = signed(nonce="n" * 24)
    fields = parse(header)
    assert fields is not None and set(fields) == {"ts", "nonce", "sig"}
    assert fields["ts"] == str(int(NOW)) and fields["nonce"] == "n" * 24
    assert SECRET.decode() not in header
    assert repr(verifier()) == "AdminVerifier(secret=***)"
