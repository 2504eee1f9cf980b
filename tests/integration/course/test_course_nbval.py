"""The committed notebook outputs validate with nbval, with each engine.

Both are the session's own executions (tests/course_runs.py): `pytest --nbval notebooks` with
LABKIT_ENGINE=builtin (what `pytest notebooks` does on a machine without Docker) and with
LABKIT_ENGINE=docker, against the very same committed outputs.
"""

from __future__ import annotations

from labkit.course import NOTEBOOKS
from tests.integration.conftest import CourseRuns


def test_notebooks_validate_with_the_builtin_engine(course_runs: CourseRuns) -> None:
    course_runs.nbval_builtin.passed(len(NOTEBOOKS))


def test_notebooks_validate_with_the_docker_engine(course_runs: CourseRuns) -> None:
    nbval, _ = course_runs.docker()
    nbval.passed(len(NOTEBOOKS))
