"""A lab of a test's own (it may restart it), and the AWS CLI and `labkit` as a learner runs
them against it: for the tests of regions and accounts."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import forget_images_of, free_port


@pytest.fixture()
def private_lab(tmp_path: Path) -> Iterator[Any]:
    """A lab of this test's own (it may restart it), on a free port; at the end, the Docker
    Engine's images named after its registries go with it."""
    from labkit.lab import process

    home = tmp_path / "home"
    lab = process.start(home, port=free_port())
    try:
        yield lab
    finally:
        now = process.running(home)
        status = now.status() if now else {"regions": {"": lab.registry}, "accounts": {}}
        registries = [*status["regions"].values(),
                      *(h for a in status.get("accounts", {}).values() for h in a.values())]
        process.stop(home)
        for registry in registries:
            forget_images_of(registry)


def aws(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(["aws", *args, "--output", "json"], env=env, capture_output=True,
                       text=True, timeout=120)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def names(env: dict[str, str], region: str) -> list[str]:
    out = aws(env, "ecr", "describe-repositories", "--region", region).stdout
    return sorted(r["repositoryName"] for r in json.loads(out)["repositories"])


def labkit(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "labkit", *args], env=env, capture_output=True,
                          text=True, timeout=120)
