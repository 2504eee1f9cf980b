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
    solved_docker: cr.Run | None  # None where no Docker Engine answers
    nbval_docker: cr.Run | None
    docker_config: Path  # solved_docker's DOCKER_CONFIG: the notebooks' `docker login`

    def docker(self) -> tuple[cr.Run, cr.Run]:
        """The two Docker-engine runs (skips, or fails under CI, without a Docker Engine)."""
        need(self.solved_docker is not None and self.nbval_docker is not None,
             "no Docker Engine answers (install docker.io and start dockerd)")
        assert self.solved_docker is not None and self.nbval_docker is not None
        return self.solved_docker, self.nbval_docker

    def docker_done(self) -> None:
        """Wait until both Docker-engine runs ended (their turns on the daemon are over)."""
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
        yield CourseRuns(runs[0], runs[1], runs[2] if len(runs) > 2 else None,
                         runs[3] if len(runs) > 3 else None, root / "docker-config")
    finally:
        if not shared:
            cr.stop_all(root)
