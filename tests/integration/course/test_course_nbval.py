"""The committed notebook outputs validate with nbval on the Docker Engine.

(The README's test command runs `LABKIT_ENGINE=builtin pytest notebooks` for the built-in
engine; this test covers the other engine against the very same committed outputs.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.usefixtures("require_docker")
def test_notebooks_validate_with_the_docker_engine() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABKIT_", "AWS_"))}
    env["LABKIT_ENGINE"] = "docker"
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "--nbval", "notebooks"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=540)
    tail = "\n".join(r.stdout.splitlines()[-40:])
    assert r.returncode == 0, tail
    assert " passed" in tail and "failed" not in tail
