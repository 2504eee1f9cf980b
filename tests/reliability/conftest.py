"""Fixtures of the reliability suite: a lab of one's own when a test inspects or kills it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port


@pytest.fixture(scope="module")
def own_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A lab no other module touches, so its home can be inspected file by file."""
    from labkit.lab import process

    home = tmp_path_factory.mktemp("own-lab") / "home"
    lab = process.start(home, port=free_port())
    yield lab
    process.stop(home)


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    return tmp_path
