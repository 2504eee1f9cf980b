"""Fixtures of the lab's integration tests."""

from tests.integration.lab.isolation import accounts  # noqa: F401 - two accounts, B's image
from tests.integration.lab.labs import private_lab  # noqa: F401 - a fixture for these tests
