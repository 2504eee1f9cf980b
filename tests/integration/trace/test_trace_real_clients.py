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


def test_labkits_own_calls_are_told_from_the_learners(lab) -> None:  # noqa: ANN001
    """The course's own boto3 calls (labkit.ecr's target) say `labkit/<version>`: a probe that
    finds no repository is not the learner's last failure."""
    import boto3

    from labkit import config
    from labkit.ecr.target import connect
    from labkit.trace import reader

    mark = lab.trace_mark()
    learner = boto3.client("ecr", endpoint_url=lab.endpoint_url, region_name=lab.region,
                           aws_access_key_id=config.LAB_ACCESS_KEY,
                           aws_secret_access_key=config.LAB_SECRET_KEY)
    with pytest.raises(learner.exceptions.RepositoryNotFoundException):
        learner.describe_repositories(repositoryNames=["not-there-learner"])
    with pytest.raises(Exception, match="not-there-labkit"):
        connect(lab=lab).repository("not-there-labkit")
    records = lab.trace(mark)
    assert [reader.client_name(r.client) for r in records] == ["boto3", "labkit"]
    mine = reader.last_failure(records)
    assert mine is not None and mine.repository == "not-there-learner"
    own = reader.last_failure(records, include_labkit=True)
    assert own is not None and own.repository == "not-there-labkit" and own.client == "labkit"
