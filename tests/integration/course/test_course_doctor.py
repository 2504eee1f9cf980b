"""`labkit doctor` on this machine: every check passes, and a taken port is reported with a fix."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile

import pytest

from labkit.course.tools.runner import engine_turn


def doctor(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LABKIT_", "AWS_"))}
    return subprocess.run([sys.executable, "-m", "labkit", "doctor", *args],
                          env={**base, **env}, capture_output=True, text=True, timeout=180)


def test_doctor_with_the_builtin_engine(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = doctor("--engine", "builtin", LABKIT_HOME=str(tmp_path / "home"))
    assert r.returncode == 0, r.stdout + r.stderr
    names = [ln.split(":", 1)[0] for ln in r.stdout.splitlines() if ln.startswith("OK ")]
    assert names == ["OK   python", "OK   engine", "OK   port", "OK   disk", "OK   lab",
                     "OK   round trip"]
    assert "builtin engine" in r.stdout and "same digest" in r.stdout
    assert r.stdout.rstrip().endswith("ready for the workshop")
    assert not (tmp_path / "home").exists()  # the checks ran in a throwaway home


def test_doctor_reports_a_taken_port(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = doctor("--engine", "builtin", LABKIT_PORT=str(port),
                   LABKIT_HOME=str(tmp_path / "home"))
    assert r.returncode == 1
    assert f"FIX  port: 127.0.0.1:{port} is taken" in r.stdout
    assert "export LABKIT_PORT=" in r.stdout
    assert "1 thing(s) to fix" in r.stdout


@pytest.mark.usefixtures("require_docker")
def test_doctor_with_the_docker_engine(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # a course run holds this daemon's turn meanwhile (here: this test): the doctor's round trip
    # uses image names of its own, so it neither waits for the turn nor touches the run's images
    # (the turn's lock lives in the temp folder: a private one, so the session's runs go on)
    monkeypatch.setenv("LABKIT_ENGINE", "docker")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with engine_turn(wait=5):
        r = doctor("--engine", "docker", LABKIT_HOME=str(tmp_path / "home"), TMPDIR=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "waiting for another course run" not in r.stdout
    assert "OK   engine: Docker Engine" in r.stdout and "docker engine in" in r.stdout
