"""The proofs `lab down` and the shutdown endpoint rely on, and the choice of start path."""

from __future__ import annotations

import pytest

from labkit.lab.auth.signing import Signer
from labkit.lab.process import launch
from labkit.lab.process.identity import check_shutdown, read_secret, shutdown_proof

SIGNER = Signer(b"k" * 32)


def test_a_fresh_signed_request_for_this_pid_is_accepted() -> None:
    doc = {"pid": 42, "issued": 1000.5, "proof": shutdown_proof(SIGNER, 42, 1000.5)}
    assert check_shutdown(SIGNER, 42, doc, now=1001.0) is None


@pytest.mark.parametrize(("doc", "now", "why"), [
    ({"pid": 42, "issued": 1000.0, "proof": shutdown_proof(Signer(b"x" * 32), 42, 1000.0)},
     1000.0, "does not match"),
    ({"pid": 43, "issued": 1000.0, "proof": shutdown_proof(SIGNER, 43, 1000.0)}, 1000.0,
     "not 43"),
    ({"pid": 42, "issued": 1000.0, "proof": shutdown_proof(SIGNER, 42, 1000.0)}, 2000.0,
     "too old"),
    ({"pid": 42, "issued": 1000.0, "proof": shutdown_proof(SIGNER, 42, 1000.0)}, 0.0,
     "from the future"),
    ({"pid": 42, "issued": 1000.0, "proof": shutdown_proof(SIGNER, 42, 999.0)}, 1000.0,
     "does not match"),
    ({"pid": "x"}, 1000.0, "expected a JSON object"),
    (["not", "an", "object"], 1000.0, "expected a JSON object"),
])
def test_anything_else_is_refused_with_a_reason(doc, now, why) -> None:
    assert why in (check_shutdown(SIGNER, 42, doc, now=now) or "")


def test_a_client_never_creates_the_secret(tmp_path) -> None:
    assert read_secret(tmp_path) is None
    assert not (tmp_path / "secret.key").exists()


@pytest.mark.parametrize(("env", "fork_allowed", "expected"), [
    ("", True, "fork"), ("", False, "portable"), ("portable", True, "portable"),
    ("fork", False, "portable"), ("fork", True, "fork"),
])
def test_the_start_path(monkeypatch, env, fork_allowed, expected) -> None:
    monkeypatch.setenv(launch.START_ENV, env)
    assert launch.method(fork_allowed) == expected


def test_an_unknown_start_path_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv(launch.START_ENV, "spawn")
    with pytest.raises(ValueError, match="use one of fork, portable"):
        launch.method(True)


def test_without_fork_the_portable_path_is_taken(monkeypatch) -> None:
    """What Windows has: no os.fork, so `labkit lab up` starts a fresh interpreter."""
    import os

    monkeypatch.delenv(launch.START_ENV, raising=False)
    monkeypatch.delattr(os, "fork")
    assert launch.method(True) == "portable"
