"""Fixtures of the integration tests: the course executed once per session (tests/course_runs.py).

With pytest-xdist, a session fixture is one per worker: every test that uses `course_runs`
carries `pytest.mark.xdist_group(COURSE_GROUP)` (run with `--dist loadgroup`, as the README's
test command does), so one worker runs the notebooks once for all of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from labkit.course import NOTEBOOKS
from tests.conftest import docker_answers, need
from tests.course_runs import Run, clean_env, course_argv, lab_down, nbval_argv

COURSE_GROUP = "course-runs"


@dataclass
class CourseRuns:
    """The session's course executions (see tests/course_runs.py); each `Run` waits for its
    process when a test first reads it."""

    solved_builtin: Run
    nbval_builtin: Run
    solved_docker: Run | None  # None where no Docker Engine answers
    nbval_docker: Run | None
    docker_config: Path  # solved_docker's DOCKER_CONFIG: the notebooks' `docker login`

    _record: tuple[dict[str, int], list[dict]] | None = None

    def docker_lab_record(self) -> tuple[dict[str, int], list[dict]]:
        """The AWS operations and the trace of solved_docker's lab, as the course left them
        (read once, before any test uses that lab for more)."""
        if self._record is None:
            from labkit.lab import process

            solved, _ = self.docker()
            solved.passed(len(NOTEBOOKS))
            assert solved.home is not None
            lab = process.running(solved.home)
            assert lab is not None, "the --home run's lab is no longer running"
            self._record = (lab.operations(), lab.trace(0))
        return self._record

    def docker(self) -> tuple[Run, Run]:
        """The two Docker-engine runs (skips, or fails under CI, without a Docker Engine)."""
        need(self.solved_docker is not None and self.nbval_docker is not None,
             "no Docker Engine answers (install docker.io and start dockerd)")
        assert self.solved_docker is not None and self.nbval_docker is not None
        return self.solved_docker, self.nbval_docker


@pytest.fixture(scope="session")
def course_runs(tmp_path_factory: pytest.TempPathFactory,
                require_aws_cli: None) -> Iterator[CourseRuns]:
    """Starts every session-wide course execution at once and returns without waiting: the
    Docker-engine pair takes turns on the daemon while the built-in ones run beside them."""
    from tests.conftest import free_port

    root = tmp_path_factory.mktemp("course-runs")
    notebooks = str(Path(__file__).resolve().parents[2] / "notebooks")
    builtin_out = root / "solved-builtin"
    runs = [
        Run("labkit course run --engine builtin --solutions",
            course_argv("--engine", "builtin", "--solutions", "--out", str(builtin_out)),
            root / "solved-builtin.log", out=builtin_out, env=clean_env()),
        Run("pytest --nbval notebooks (built-in engine)", nbval_argv(), root / "nbval-builtin.log",
            env=clean_env(LABKIT_ENGINE="builtin")),
    ]
    docker_config = root / "docker-config"
    if docker_answers():
        home, out = root / "docker-home", root / "solved-docker"
        runs += [
            # the options the README names for `course run`, as a maintainer passes them
            Run("labkit course run --engine docker --solutions",
                course_argv("--engine", "docker", "--solutions", "--home", str(home),
                            "--port", str(free_port()), "--notebooks", notebooks,
                            "--kernel", "python3", "--timeout", "300", "--out", str(out)),
                root / "solved-docker.log", out=out, home=home,
                env=clean_env(DOCKER_CONFIG=str(docker_config))),
            Run("pytest --nbval notebooks (Docker Engine)", nbval_argv(),
                root / "nbval-docker.log", env=clean_env(LABKIT_ENGINE="docker")),
        ]
    for run in runs:
        run.start()
    solved_docker = runs[2] if len(runs) > 2 else None
    try:
        yield CourseRuns(runs[0], runs[1], solved_docker, runs[3] if len(runs) > 3 else None,
                         docker_config)
    finally:
        for run in runs:
            run.kill()
        if solved_docker is not None and solved_docker.home is not None:
            lab_down(solved_docker.home)  # --home keeps its lab: the tests read it, then it goes
