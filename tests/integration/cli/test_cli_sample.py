"""`labkit sample path|build` and `labkit docker images` as a terminal runs them (real
processes, the built-in engine in a temp home)."""

from __future__ import annotations

import subprocess
import sys


def test_sample_commands_build_hello_app_with_the_builtin_engine(tmp_path) -> None:  # noqa: ANN001
    import os

    env = dict(os.environ, LABKIT_HOME=str(tmp_path / "home"), LABKIT_ENGINE="builtin",
               LABKIT_ENGINE_HOME=str(tmp_path / "engine"))

    def labkit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "labkit", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    r = labkit("sample", "path", "v1")
    assert r.returncode == 0, r.stderr
    context = r.stdout.strip()
    assert context == str(tmp_path / "home" / "course-build" / "v1")  # this home's stamped copy
    assert "building the sample's base image labkit/base:1.0" in r.stderr
    r = subprocess.run([sys.executable, "-m", "labkit.engines.builtin.cli", "build", "-t",
                        "hello-app:v1", context], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and "Successfully tagged hello-app:v1" in r.stdout, r.stderr
    r = labkit("sample", "build", "v2")
    assert r.returncode == 0 and "Successfully tagged hello-app:v2" in r.stdout, r.stderr
    listed = subprocess.run([sys.executable, "-m", "labkit", "docker", "images", "-q"], env=env,
                            capture_output=True, text=True, timeout=60).stdout.split()
    assert len(listed) == 3  # base, v1, v2
    assert labkit("sample", "path", "v3").returncode != 0
