"""Fixtures of the browser tests."""

from tests.integration.lab.labs import private_lab  # noqa: F401 - a lab of a test's own
