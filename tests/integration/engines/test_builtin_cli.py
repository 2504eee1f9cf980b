"""The built-in `docker` command line as a learner runs it (a real `python -m
labkit.engines.builtin.cli` process): commands outside its subset say what it supports."""

from __future__ import annotations

import subprocess
import sys

REG = "127.0.0.1:5400"


def builtin(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "labkit.engines.builtin.cli", *args],
                          input=stdin, capture_output=True, text=True, timeout=60)


def test_outside_the_subset_says_what_is_supported(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("LABKIT_ENGINE_HOME", str(tmp_path / "engine"))
    r = builtin("run", "hello-app:v1")
    assert r.returncode == 1 and "docker run: not in the built-in engine's subset" in r.stderr
    assert "supports: docker login, logout, build" in r.stderr and "Traceback" not in r.stderr
    r = builtin("push", "--all-tags", "x")
    assert r.returncode == 125
    r = builtin("push", "--nope", "x")
    assert r.returncode == 125 and "unknown flag: --nope" in r.stderr
    r = builtin("login", "--password-stdin", REG, stdin="secret\n")
    assert r.returncode == 1 and "Must provide --username with --password-stdin" in r.stderr
    r = builtin("login", REG)
    assert "Cannot perform an interactive login from a non TTY device" in r.stderr
    r = builtin("version")
    assert r.returncode == 0 and "labkit built-in engine" in r.stdout
    r = builtin("images")
    assert r.returncode == 0 and r.stdout.split() == ["REPOSITORY", "TAG", "IMAGE", "ID",
                                                      "CREATED", "SIZE"]
