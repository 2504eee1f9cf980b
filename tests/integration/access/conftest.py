"""Fixtures of the access tests across processes: the same harness as tests/unit/access."""

from tests.unit.access.harness import lab  # noqa: F401 - the fixture
