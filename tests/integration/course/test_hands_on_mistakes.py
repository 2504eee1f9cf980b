"""The mistakes the course invites end in docker's own message plus ONE hint line naming the
notebook, with no traceback of the kit: in the built-in `docker` CLI and in labkit's Python API
(IPython shows a GuidedError without its traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import ShortTokens, lab_environ
from tests.fixtures.ecr_messages import assert_ecr_message, entry

BIN = str(Path(sys.executable).parent)
DOCKER = f"{sys.executable} -m labkit.engines.builtin.cli"


def sh(cmd: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-o", "pipefail", "-c", cmd], env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture()
def env(lab, tmp_path, require_aws_cli) -> dict[str, str]:  # noqa: ANN001
    from labkit.course import sample

    e = lab_environ(lab, tmp_path / "config")
    e["PATH"] = BIN + os.pathsep + e.get("PATH", "")
    e["LABKIT_ENGINE_HOME"] = str(tmp_path / "engine")
    for ctx, ref in ((sample.base_context(), "labkit/base:1.0"), (sample.context(1), "app:v1"),
                     (sample.context(2), "app:v2")):
        r = sh(f"{DOCKER} build -q -t {ref} {ctx}", e)
        assert r.returncode == 0, r.stderr
    return e


def failure(r: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    """(docker's message, the hint line) of a failed command: exactly two stderr lines."""
    assert r.returncode == 1, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert "Traceback" not in r.stderr and len(lines) == 2, r.stderr
    assert lines[1].startswith("hint: ")
    return lines[0], lines[1]


def test_immutable_overwrite_and_expired_token(lab, env) -> None:  # noqa: ANN001
    name = f"course-hands-on-mistake-{uuid.uuid4().hex[:8]}"
    R = lab.registry
    assert sh(f"aws ecr create-repository --repository-name {name} "
              f"--image-tag-mutability IMMUTABLE >/dev/null && "
              f"aws ecr get-login-password | {DOCKER} login -u AWS --password-stdin {R} && "
              f"{DOCKER} tag app:v1 {R}/{name}:v1 && {DOCKER} push {R}/{name}:v1",
              env).returncode == 0
    r = sh(f"{DOCKER} tag app:v2 {R}/{name}:v1 && {DOCKER} push {R}/{name}:v1", env)
    message, hint = failure(r)
    assert_ecr_message("docker.tag-invalid-immutable", message, tag="v1", repository=name)
    assert "(notebook 05-push-a-second-version)" in hint
    with ShortTokens(lab) as tokens:
        assert sh(f"aws ecr get-login-password | {DOCKER} login -u AWS --password-stdin {R}",
                  env).returncode == 0
        tokens.expire()
        message, hint = failure(sh(f"{DOCKER} pull {R}/{name}:v1", env))
    # ECR's words after the built-in engine's own 'Error response from daemon: Head "...": '
    assert message.endswith(": " + entry("docker.expired-token-push").render()), message
    assert "(notebook 02-authenticate)" in hint and "get-login-password" in hint


def test_python_api_mistake_shows_no_traceback(lab, env) -> None:  # noqa: ANN001
    """IPython (a notebook's kernel) prints the error and its hint, not the kit's frames."""
    name = f"course-hands-on-nope-{uuid.uuid4().hex[:8]}"
    cell = ("from labkit.engines.builtin import BuiltinEngine\n"
            f"e = BuiltinEngine(); e.tag('app:v1', '{lab.registry}/{name}:v1')\n"
            f"e.push('{lab.registry}/{name}:v1', progress=False)\n")
    r = subprocess.run([str(Path(BIN) / "ipython"), "--colors=NoColor", "-c", cell], env=env,
                       capture_output=True, text=True, timeout=120)
    text = r.stdout + r.stderr
    assert "EngineError: no basic auth credentials" in text, text
    assert "hint: log in first (notebook 02-authenticate)" in text
    assert "Traceback" not in text and "labkit/engines" not in text
