"""Shared fixtures: real tools or a clear skip (and under CI=true, a failure instead of a skip)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(ok: bool, reason: str) -> None:
    """Skip with a reason on a developer machine; fail in CI, where every tool must be there."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        r = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                           capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def require_docker() -> None:
    need(docker_answers(), "no Docker Engine answers (install docker.io and start dockerd)")


@pytest.fixture(scope="session")
def require_skopeo() -> None:
    need(shutil.which("skopeo") is not None, "skopeo is not installed (apt-get install skopeo)")


@pytest.fixture(scope="session")
def require_distribution() -> None:
    need(shutil.which("docker-registry") is not None,
         "CNCF Distribution is not installed (apt-get install docker-registry)")


@pytest.fixture(scope="session")
def require_aws_cli() -> None:
    need(shutil.which("aws") is not None, "the AWS CLI is not installed (pip install awscli)")


@pytest.fixture()
def tmp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh LABKIT_HOME (and engine home inside it) for one test."""
    home = tmp_path / "labkit-home"
    monkeypatch.setenv("LABKIT_HOME", str(home))
    monkeypatch.delenv("LABKIT_ENGINE_HOME", raising=False)
    yield home
