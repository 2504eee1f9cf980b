"""Fixtures of the integration tests: the course executed once per session (tests/course_runs.py).

The runs start with the session (tests/conftest.py) and every process reads them; the fixture
only starts them itself where the session did not (a filtered run, single files).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import course_runs as cr
from tests.conftest import docker_answers, need


@dataclass
class CourseRuns:
    """The session's course executions (see tests/course_runs.py); a `Run` waits for its
    process when a test reads it."""

    solved_builtin: cr.Run
    nbval_builtin: cr.Run
    habits_builtin: cr.Run
    nbval_docker: cr.Run | None  # None where no Docker Engine answers
    habits_docker: cr.Run | None

    @classmethod
    def of(cls, runs: list[cr.Run]) -> CourseRuns:
        """The runs by their key (the name of their log: solved-builtin, ...)."""
        by = {r.log.stem.replace("-", "_"): r for r in runs}
        return cls(**{k: by.get(k) for k in (  # type: ignore[arg-type]
            "solved_builtin", "nbval_builtin", "habits_builtin", "nbval_docker",
            "habits_docker")})

    def docker(self) -> tuple[cr.Run, cr.Run]:
        """The two Docker-engine runs, nbval's and the habits' (skips, or fails under CI,
        without a Docker Engine)."""
        need(self.nbval_docker is not None and self.habits_docker is not None,
             "no Docker Engine answers (install docker.io and start dockerd)")
        assert self.nbval_docker is not None and self.habits_docker is not None
        return self.nbval_docker, self.habits_docker

    def docker_done(self) -> None:
        """Wait until the Docker-engine runs ended (their turns on the daemon are over)."""
        for run in self.docker():
            run.wait()


@pytest.fixture(scope="session")
def course_runs(tmp_path_factory: pytest.TempPathFactory,
                require_aws_cli: None) -> Iterator[CourseRuns]:
    shared = os.environ.get(cr.ENV)
    if shared:
        root, runs = Path(shared), cr.attach(Path(shared))
    else:
        root = tmp_path_factory.mktemp("course-runs")
        runs = cr.start_all(root, docker=docker_answers())
    try:
        yield CourseRuns.of(runs)
    finally:
        if not shared:
            cr.stop_all(root)
