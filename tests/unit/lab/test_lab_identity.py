"""What `lab down` relies on (the client reads the secret, never makes it), and the choice of
start path. The signed requests themselves: test_lab_admin_auth.py."""

from __future__ import annotations

import pytest

from labkit.lab.process import launch
from labkit.lab.process.identity import read_secret


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
