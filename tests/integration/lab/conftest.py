"""Fixtures of the lab's integration tests."""

from tests.integration.lab.labs import private_lab  # noqa: F401 - a fixture for these tests
