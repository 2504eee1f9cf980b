"""Fixtures of the access tests (the harness lives in harness.py, importable by the tests)."""

from tests.unit.access.harness import lab  # noqa: F401 - the fixture
