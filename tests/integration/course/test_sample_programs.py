"""The sample application's committed programs really run and print their greeting."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from labkit.course import sample


@pytest.mark.skipif(sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"),
                    reason="the sample programs are linux/amd64 executables")
@pytest.mark.parametrize("version", sample.VERSIONS)
def test_program_prints_its_greeting(version: int) -> None:
    program = sample.context(version) / "app" / "hello"
    out = subprocess.run([str(program)], capture_output=True, timeout=10, check=True)
    assert out.stdout.decode() == sample.greeting(version) + "\n"
