"""`labkit.course.shell.activate`: a notebook kernel gets what `eval "$(labkit lab env)"` gives a
terminal, and, on the built-in engine, a `docker` command that runs it; and `labkit lab env`
gives a terminal with no Docker Engine that same `docker`."""

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
    assert {k: v for k, v in got.items() if k != "PATH"} == {k: v for k, v in exports.items()
                                                             if k != "PATH"}
    assert got["REGISTRY"] == lab.registry == os.environ["REGISTRY"]
    assert os.environ.get("DOCKER_CONFIG") == config_before  # never set by activate
    docker = shutil.which("docker")
    assert docker is not None and Path(docker).parent == Path(lab.home) / "bin"
    r = subprocess.run(["docker", "version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "labkit built-in engine" in r.stdout

    monkeypatch.setenv("LABKIT_ENGINE", "docker")
    activate(lab)  # back on the Docker Engine: the shim leaves PATH
    assert Path(lab.home) / "bin" not in [Path(p) for p in os.environ["PATH"].split(os.pathsep)]


def test_lab_env_gives_a_terminal_without_docker_the_builtin_docker(tmp_path: Path) -> None:
    """No Docker Engine answers (DOCKER_HOST names a socket nobody listens on): the course's
    terminal commands, typed as written after `eval "$(labkit lab env)"`, run the built-in
    engine, in a real bash, and the output says so in a comment line."""
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LABKIT_", "AWS_")) and k != "DOCKER_HOST"}
    env.update(DOCKER_HOST=f"unix://{tmp_path}/no-docker.sock", LABKIT_HOME=str(home),
               DOCKER_CONFIG=str(tmp_path / "docker-config"), LABKIT_LIFECYCLE_INTERVAL="0",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    script = """
        eval "$(labkit lab env)"
        type docker
        aws ecr create-repository --repository-name hello-app >/dev/null
        aws ecr get-login-password --region us-east-1 | docker login --username AWS --password-stdin $REGISTRY
        docker build -t hello-app:v1 "$(labkit sample path v1)"
        docker tag hello-app:v1 $REGISTRY/hello-app:v1
        docker push $REGISTRY/hello-app:v1
        docker image rm $REGISTRY/hello-app:v1
        docker pull $REGISTRY/hello-app:v1
    """
    try:
        printed = subprocess.run(["labkit", "lab", "env"], env=env, capture_output=True,
                                 text=True, timeout=120)
        assert printed.returncode == 0, printed.stderr
        comment = [ln for ln in printed.stdout.splitlines() if "built-in engine" in ln]
        assert comment and comment[0].startswith("# no Docker Engine answers: `docker` is "
                                                 "labkit's built-in engine"), printed.stdout
        assert f'export PATH={home / "bin"}:"$PATH"' in printed.stdout
        ps = subprocess.run(["labkit", "lab", "env", "--format", "powershell"], env=env,
                            capture_output=True, text=True, timeout=120).stdout
        assert f"$env:PATH = '{home / 'bin'}' + [IO.Path]::PathSeparator + $env:PATH" in ps
        r = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"docker is {home / 'bin' / 'docker'}" in r.stdout
        assert "Login Succeeded" in r.stdout
        assert "v1: digest: sha256:" in r.stdout and "Pushed" in r.stdout
        assert "Cannot connect to the Docker daemon" not in r.stdout + r.stderr
        assert "Pull complete" in r.stdout or "Already exists" in r.stdout
        # with a Docker Engine on PATH as `docker`, nothing here ran it: the lab saw labkit's agent
        from labkit.lab import process

        lab = process.running(home)
        agents = {t.get("agent", "") for t in lab.trace(0) if t.get("path") == "/v2/"}
        assert agents and all(a.startswith("labkit-builtin") or "Boto" in a or "aws-cli" in a
                              for a in agents), agents
    finally:
        subprocess.run(["labkit", "lab", "down"], env=env, capture_output=True, timeout=60)
