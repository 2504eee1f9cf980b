"""The hands-on course for real: solutions solve every exercise, runs share a daemon, the
terminal shares the notebook's login, and 00's IAM list is what the course really calls.

The whole-course executions are the session's (tests/course_runs.py, `course_runs`): each
runs once and serves the assertions here, in test_course_nbval.py, test_course_run.py and the
CLI tests.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import nbformat
import pytest

from labkit.course import NOTEBOOKS
from labkit.course.tools import permissions
from tests.course_runs import ROOT, SOLVED, WAITED, clean_env, course
from tests.integration.conftest import CourseRuns

TAG = "course-notebooks"  # names of images this file creates on the shared daemon


def solution_cells_ran(out: Path, name: str) -> bool:
    """The executed notebook holds its unfolded solution's cells, each executed."""
    nb = nbformat.read(out / f"{name}.ipynb", as_version=4)
    ran = [c for c in nb.cells if "solution-run" in c.metadata.get("tags", [])]
    return bool(ran) and all(c.execution_count for c in ran)


def test_every_exercise_is_solvable_with_the_builtin_engine(course_runs: CourseRuns) -> None:
    """The habits' second Run All of every notebook ran each folded solution with strict checks
    (as on the Docker Engine, below); `labkit course run --solutions` unfolds the solutions
    into the executed copies and runs each of their cells."""
    out = course_runs.habits_builtin.habits()
    assert "broke" not in out, out.get("broke")
    solved = dict(out["solved"])
    assert sorted(solved) == sorted(NOTEBOOKS) and all(solved.values()), solved
    run = course_runs.solved_builtin
    run.passed(len(SOLVED))
    assert run.out is not None
    assert all(solution_cells_ran(run.out, name) for name in SOLVED)


def test_two_course_runs_at_once_one_solving_every_exercise(course_runs: CourseRuns) -> None:
    """Two runs (different homes) started together on one Docker Engine both pass: nbval over
    the committed outputs, and the learner's habits, whose second Run All of each notebook
    solves its exercises (each folded solution runs before its, now strict, check). They took
    turns on the daemon (local names like hello-app:v1 are global there). The ECR actions the
    habits' lab saw over the whole course, every exercise solved, are 00's IAM list, exactly."""
    nbval, habits = course_runs.docker()
    nbval.passed(len(NOTEBOOKS))
    out = habits.habits()
    assert "broke" not in out, out.get("broke")
    # at least one waited for the other (on a shared machine a third run may hold the daemon)
    assert any(WAITED in run.output for run in (nbval, habits))
    solved = dict(out["solved"])
    assert sorted(solved) == sorted(NOTEBOOKS) and all(solved.values()), solved
    setup = nbformat.read(ROOT / "notebooks" / "00-setup.ipynb", as_version=4)
    assert out["ecr actions"] == permissions.documented("\n".join(c.source for c in setup.cells))


@pytest.mark.usefixtures("require_docker")
def test_a_rerun_on_a_daemon_holding_earlier_images(course_runs: CourseRuns,
                                                    tmp_path: Path) -> None:
    """Images left by earlier runs and by the learner's terminal (the same app built from an
    earlier lab home, under other names) do not change what 06 teaches: its pulls download the
    app layers (v1's in the terminal exercise, v2's in the notebook). The earlier runs are the
    session's Docker-engine course runs (nbval's and the habits'), then the terminal's builds."""
    import docker

    from labkit.course import sample

    course_runs.docker_done()
    earlier = tmp_path / "earlier-home"
    client = docker.from_env()
    keep = f"{TAG}-{uuid.uuid4().hex[:8]}"
    made: list[str] = []
    try:
        for v in sample.VERSIONS:  # the learner's own terminal builds from the earlier home
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


@pytest.mark.usefixtures("require_docker")
def test_the_terminal_uses_the_notebooks_login(course_runs: CourseRuns, tmp_path: Path) -> None:
    """After the notebooks logged in (02, with the learner's docker config), the seed's terminal
    flow, pointed at that lab with `labkit lab env`, needs no login of its own."""
    course_runs.docker_done()  # its run takes a turn on the daemon: after the session's
    home, config = tmp_path / "home", tmp_path / "docker-config"
    env = clean_env(DOCKER_CONFIG=str(config))
    try:
        r = course("--engine", "docker", "--home", str(home), "--only", "00", "--only", "01",
                   "--only", "02", "--out", str(tmp_path / "out"), env=env)
        assert r.returncode == 0 and "3 passed, 0 failed" in r.stdout, r.stdout + r.stderr
        assert (config / "config.json").exists()  # 02's login landed where the terminal looks
        terminal_flow(home, env)
    finally:
        subprocess.run([sys.executable, "-m", "labkit", "lab", "down", "--home", str(home)],
                       env=env, capture_output=True, timeout=60)


def terminal_flow(home: Path, env: dict[str, str]) -> None:
    # the seed's flow from the start: a fresh hello-app (01 created one), then
    # build, tag and push
    script = f"""set -euo pipefail
eval "$(labkit lab env --home {home} --no-start)"
aws ecr delete-repository --repository-name hello-app --force >/dev/null 2>&1 || true
aws ecr create-repository --repository-name hello-app >/dev/null
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

