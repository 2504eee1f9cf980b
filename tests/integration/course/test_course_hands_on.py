"""The hands-on course for real: solutions solve every exercise, runs share a daemon, the
terminal shares the notebook's login, and 00's IAM list is what the course really calls."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import nbformat
import pytest

from labkit.course import NOTEBOOKS
from labkit.course.tools import permissions

ROOT = Path(__file__).resolve().parents[3]
TAG = "course-notebooks"  # names of images this file creates on the shared daemon


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LABKIT_", "AWS_")) and k not in ("DOCKER_CONFIG", "REGISTRY")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(extra)
    return env


def course(*args: str, env: dict[str, str] | None = None, timeout: int = 900
           ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labkit", "course", "run", *args], cwd=ROOT,
                          env=env or clean_env(), capture_output=True, text=True,
                          timeout=timeout)


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "labkit", "course", "run", *args], cwd=ROOT,
                            env=env or clean_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def lab_down(home: Path) -> None:
    subprocess.run([sys.executable, "-m", "labkit", "lab", "down", "--home", str(home)],
                   env=clean_env(), capture_output=True, timeout=60)


def builtin_shim() -> bool:
    """The built-in engine's `docker` command line (course-hands-on branch) is installed."""
    try:
        import labkit.engines.builtin.cli  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.usefixtures("require_aws_cli")
def test_every_exercise_is_solvable_with_the_builtin_engine(tmp_path: Path) -> None:
    if not builtin_shim():
        pytest.skip("the built-in engine's `docker` command line (labkit.engines.builtin.cli, "
                    "course-hands-on branch) is not merged yet")
    r = course("--engine", "builtin", "--solutions", "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{len(NOTEBOOKS)} passed, 0 failed" in r.stdout


@pytest.mark.usefixtures("require_docker", "require_aws_cli")
def test_two_course_runs_at_once_one_solving_every_exercise(tmp_path: Path) -> None:
    """Two learners' runs (different homes) started together on one Docker Engine both pass.

    The first runs with `--solutions`: each folded solution runs before its (now strict)
    check, and its lab's record of the ECR operations the course called is 00's IAM list,
    exactly. (One test for both: each Docker-engine course run costs about a minute.)
    """
    home = tmp_path / "home"
    runs = [start("--engine", "docker", "--solutions", "--home", str(home),
                  "--out", str(tmp_path / "out1")),
            start("--engine", "docker", "--out", str(tmp_path / "out2"))]
    try:
        outs = [p.communicate(timeout=1500)[0] for p in runs]
        for p, out in zip(runs, outs, strict=True):
            assert p.returncode == 0, out
            assert f"{len(NOTEBOOKS)} passed, 0 failed" in out
        # they took turns on the daemon (local names like hello-app:v1 are global there)
        assert sum("waiting for another course run" in out for out in outs) == 1, outs
        out = nbformat.read(tmp_path / "out1" / "06-pull.ipynb", as_version=4)
        ran = [c for c in out.cells if "solution-run" in c.metadata.get("tags", [])]
        assert ran and all(c.outputs for c in ran)  # the solutions really ran
        from labkit.lab import process

        lab = process.running(home)
        assert lab is not None
        used = permissions.used(lab.operations(), lab.trace(0))
    finally:
        for p in runs:
            if p.poll() is None:
                p.kill()
        lab_down(home)
    setup = nbformat.read(ROOT / "notebooks" / "00-setup.ipynb", as_version=4)
    listed = permissions.documented("\n".join(c.source for c in setup.cells))
    assert used == listed


@pytest.mark.usefixtures("require_docker", "require_aws_cli")
def test_a_rerun_on_a_daemon_holding_earlier_images(tmp_path: Path) -> None:
    """Images left by an earlier run and by the learner's terminal (the same app built from an
    earlier lab home, under other names) do not change what 06 teaches: its pulls download the
    app layers (v1's in the terminal exercise, v2's in the notebook)."""
    import docker

    from labkit.course import sample

    client = docker.from_env()
    earlier = tmp_path / "earlier-home"
    keep = f"{TAG}-{uuid.uuid4().hex[:8]}"
    made: list[str] = []
    try:
        # an earlier run's lab home, and the learner's own terminal builds from it
        r = course("--engine", "docker", "--only", "05", "--home", str(earlier),
                   "--out", str(tmp_path / "out0"))
        assert r.returncode == 0, r.stdout + r.stderr
        lab_down(earlier)
        for v in sample.VERSIONS:
            ctx = subprocess.run([sys.executable, "-m", "labkit", "sample", "path", f"v{v}"],
                                 env=clean_env(LABKIT_HOME=str(earlier)), capture_output=True,
                                 text=True, check=True).stdout.strip()
            name = f"{keep}/hello-app:v{v}"
            subprocess.run(["docker", "build", "-q", "-t", name, ctx], check=True,
                           capture_output=True, timeout=300)
            made.append(name)
        r = course("--engine", "docker", "--solutions", "--only", "06",
                   "--out", str(tmp_path / "out"))
        assert r.returncode == 0, r.stdout + r.stderr
        assert "1 passed, 0 failed" in r.stdout
    finally:
        for name in made:
            client.images.remove(name, noprune=False)


@pytest.mark.usefixtures("require_docker", "require_aws_cli")
def test_the_terminal_uses_the_notebooks_login(tmp_path: Path) -> None:
    """After 02 ran in a notebook, the seed's terminal flow needs no login of its own."""
    home, config = tmp_path / "home", tmp_path / "docker-config"
    env = clean_env(DOCKER_CONFIG=str(config))
    try:
        r = course("--engine", "docker", "--only", "02", "--home", str(home),
                   "--out", str(tmp_path / "out"), env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        script = f"""set -euo pipefail
eval "$(labkit lab env --home {home} --no-start)"
docker build -q -t {TAG}-terminal:v1 "$(labkit sample path v1)"
docker tag {TAG}-terminal:v1 $REGISTRY/hello-app:v1
docker push $REGISTRY/hello-app:v1
docker image rm {TAG}-terminal:v1 $REGISTRY/hello-app:v1
aws ecr describe-images --repository-name hello-app --query 'imageDetails[].imageTags[]' \\
    --output text
"""
        t = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                           timeout=300)
        assert t.returncode == 0, t.stdout + t.stderr
        assert t.stdout.strip().splitlines()[-1] == "v1"
        assert "no basic auth credentials" not in t.stderr
    finally:
        lab_down(home)
