"""`labkit.course.shell.activate`: a notebook kernel gets what `eval "$(labkit lab env)"` gives a
terminal, and, on the built-in engine, a `docker` command that runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture()
def saved_environ():  # noqa: ANN201
    before = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(before)


@pytest.mark.usefixtures("saved_environ")
def test_activate_sets_what_lab_env_prints_and_the_builtin_docker(lab, monkeypatch) -> None:  # noqa: ANN001
    from labkit.course.shell import activate

    printed = subprocess.run([sys.executable, "-m", "labkit", "lab", "env", "--home",
                              str(lab.home), "--no-start"], capture_output=True, text=True,
                             check=True, timeout=60).stdout
    exports = dict(line[len("export "):].split("=", 1) for line in printed.splitlines()
                   if line.startswith("export "))
    monkeypatch.setenv("LABKIT_ENGINE", "builtin")
    config_before = os.environ.get("DOCKER_CONFIG")
    got = activate(lab)
    assert {k: v for k, v in got.items() if k != "PATH"} == exports
    assert got["REGISTRY"] == lab.registry == os.environ["REGISTRY"]
    assert os.environ.get("DOCKER_CONFIG") == config_before  # never set by activate
    docker = shutil.which("docker")
    assert docker is not None and Path(docker).parent == Path(lab.home) / "bin"
    r = subprocess.run(["docker", "version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "labkit built-in engine" in r.stdout

    monkeypatch.setenv("LABKIT_ENGINE", "docker")
    activate(lab)  # back on the Docker Engine: the shim leaves PATH
    assert Path(lab.home) / "bin" not in [Path(p) for p in os.environ["PATH"].split(os.pathsep)]
