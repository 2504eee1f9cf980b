"""The trace's one reader (sessions, pulls, pushes, failures) on records a real lab wrote for
the docker CLI, skopeo, the built-in engine, the AWS CLI and boto3 (tests/fixtures)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from labkit.trace import reader
from labkit.trace.record import TraceRecord
from tests.fixtures.trace_scenarios import SCENARIO, check, load

RECORDING = load()


@pytest.mark.parametrize("label", [s.label for s in SCENARIO])
def test_each_step_reads_as_what_the_tools_said(label: str) -> None:
    check(RECORDING, label)


def test_the_last_failure_of_the_whole_trace_is_the_last_one_met() -> None:
    last = reader.last_failure(RECORDING.records())
    assert last is not None and last.seq == RECORDING["logged-out"].records[-1].seq
    by_aws = reader.last_failure(RECORDING.records(), client="aws-cli")
    assert by_aws is not None and by_aws.code == "RepositoryAlreadyExistsException"
    json.dumps(last.to_dict())  # plain data, for `labkit explain --json` and a room's board


def test_protocol_steps_are_not_failures() -> None:
    """The 401 challenge before the credentials, and "do you have it?" answered 404."""
    for label in ("push-v1", "push-v2", "pull-v2", "builtin-pull-v1", "skopeo-push"):
        records = RECORDING[label].records
        assert any(r.status in (401, 404) for r in records), label
        assert reader.failures(records) == [], label


def test_labkits_own_api_calls_are_left_out_unless_asked_for() -> None:
    failed = next(r for r in RECORDING["awscli-missing-repository"].records if r.kind == "api")
    own = dataclasses.replace(failed, seq=10_000, time=failed.time + 1,
                              client=failed.client.replace("aws-cli", "Boto3") + " labkit/0.1")
    records = [failed, own]
    assert reader.last_failure(records).seq == failed.seq  # type: ignore[union-attr]
    assert reader.last_failure(records, include_labkit=True).seq == own.seq  # type: ignore[union-attr]


def _interleaved(a: list[TraceRecord], b: list[TraceRecord]) -> list[TraceRecord]:
    """`b` replayed while `a` runs: its requests start between `a`'s, numbered after them."""
    t0 = a[0].time
    step = (a[-1].time - t0) / max(len(b), 1)
    return a + [dataclasses.replace(r, time=t0 + step * (i + 0.5), seq=10_000 + i)
                for i, r in enumerate(b)]


def test_two_clients_pulling_at_once_are_two_pulls() -> None:
    docker = RECORDING["pull-v2"].records
    builtin = RECORDING["builtin-pull-v1"].records
    found = reader.pulls(_interleaved(docker, builtin))
    assert sorted((p.client, p.reference) for p in found) == [
        ("docker", "v2"), ("labkit (builtin engine)", "v1")]
    for pull in found:
        own = docker if pull.client == "docker" else builtin
        assert {r.route for r in pull.records} <= {"base", "manifest", "blob", "storage"}
        assert len(pull.records) == len([r for r in own if r.route != "tags"])


def test_the_last_pull_of_a_repository_and_its_requests() -> None:
    records = [r for label in ("pull-v1", "pull-v2", "pull-missing-tag") for r in
               RECORDING[label].records]
    pull = reader.last_pull(records, RECORDING.name)
    assert pull.reference == "nope" and not pull.manifest_fetched
    pulled = reader.last_pull(records[: len(RECORDING["pull-v1"].records) + len(
        RECORDING["pull-v2"].records)])
    assert pulled.repository == RECORDING.name and pulled.reference == "v2"
    assert reader.last_pull([], "x").found is False


def test_a_push_is_one_per_session_and_repository() -> None:
    records = [r for label in ("push-v1", "push-v2", "push-immutable") for r in
               RECORDING[label].records]
    found = reader.pushes(records)
    assert [(p.repository == RECORDING.name, p.tags) for p in found] == [
        (True, ["v1"]), (True, ["v2"]), (False, ["stable"]), (False, ["stable"])]
    assert reader.last_push(records, RECORDING.name, "v1") == found[0]
    assert reader.last_push(records, "nothing") is None


def test_a_trace_is_read_in_the_order_requests_started() -> None:
    """The lab numbers records as they end: a download finishing late gets a later number."""
    records = RECORDING["pull-v2"].records
    assert reader.ordered(reversed(records)) == reader.ordered(records)
    assert [r.time for r in reader.ordered(records)] == sorted(r.time for r in records)
    assert reader.settled(records)
    assert not reader.settled([r for r in records if r.kind != "storage"])


@pytest.mark.parametrize(("agent", "name"), [
    ("docker/20.10.24+dfsg1 go/go1.19.8 git-commit/5d6db84", "docker"),
    ("skopeo/1.9.3", "skopeo"), ("labkit-builtin/0.1", "labkit (builtin engine)"),
    ("aws-cli/1.46.3 md/Botocore#1.40.3 ua/2.1", "aws-cli"),
    ("Boto3/1.44.8 md/Botocore#1.40.3 ua/2.1 os/linux", "boto3"),
    ("Boto3/1.44.8 md/Botocore#1.40.3 labkit/0.1.0", "labkit"), ("", "client")])
def test_clients_are_named_from_their_user_agent(agent: str, name: str) -> None:
    assert reader.client_name(agent) == name


def test_the_fixture_covers_every_client_and_kind() -> None:
    clients = {reader.client_name(r.client) for r in RECORDING.records()}
    assert clients >= {"docker", "skopeo", "labkit (builtin engine)", "aws-cli", "boto3"}
    assert {r.kind for r in RECORDING.records()} == {"registry", "storage", "api"}
