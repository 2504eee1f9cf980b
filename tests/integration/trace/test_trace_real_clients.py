"""The reader's conclusions hold for records a lab writes NOW, for the real docker CLI, skopeo,
the built-in engine, the AWS CLI and boto3: the scenario of tests/fixtures/trace_scenarios.py,
recorded afresh (so the saved fixture the unit tests read cannot drift from the truth)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.conftest import lab_environ
from tests.fixtures.trace_scenarios import SCENARIO, Recording, build_with_docker, check, record

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def recording(lab, tmp_path_factory, require_docker, require_skopeo,  # noqa: ANN001
              require_aws_cli) -> Recording:
    tmp = tmp_path_factory.mktemp("trace-scenario")
    env = lab_environ(lab, tmp / "docker-config")
    env.update(DOCKER_BUILDKIT="0", LABKIT_ENGINE_HOME=str(tmp / "engine"),
               PATH=str(Path(sys.executable).parent) + os.pathsep + env["PATH"])
    return record(lab, env, build_with_docker(env, tmp / "contexts"))


@pytest.mark.parametrize("label", [s.label for s in SCENARIO])
def test_each_step_reads_as_what_the_tools_said(recording: Recording, label: str) -> None:
    check(recording, label)
