"""The trace's one record type, on records a real lab wrote for real clients
(tests/fixtures/trace_real.json, made by tests/fixtures/trace_scenarios.py)."""

from __future__ import annotations

import json

import pytest

from labkit.lab.access.actions import REGISTRY_ACTIONS
from labkit.trace.record import SCHEMA, Reason, TraceRecord, from_dicts
from tests.fixtures.trace_scenarios import load

RECORDING = load()
RECORDS = RECORDING.records()


def test_every_record_survives_its_wire_form() -> None:
    for rec in RECORDS:
        doc = json.loads(json.dumps(rec.to_dict()))
        assert TraceRecord.from_dict(doc) == rec
        assert doc["schema"] == SCHEMA


def test_a_reader_takes_records_of_another_version() -> None:
    """Fields it does not know are ignored, fields it lacks get their defaults."""
    doc = RECORDS[0].to_dict()
    doc["a_later_field"] = {"x": 1}
    del doc["principal"]
    rec = TraceRecord.from_dict(doc)
    assert rec.principal is None and rec.route == RECORDS[0].route
    assert from_dicts([{"seq": 3, "status": 200}])[0] == TraceRecord(seq=3, status=200)


def test_a_reason_keeps_the_answer_and_its_facts() -> None:
    reason = Reason("TAG_INVALID", "The image tag 'v1' already exists ...",
                    {"existing_digest": "sha256:" + "a" * 64})
    assert Reason.from_dict(json.loads(json.dumps(reason.to_dict()))) == reason


def test_the_lab_names_what_each_registry_request_is() -> None:
    registry = [r for r in RECORDS if r.kind == "registry"]
    assert registry and all(r.route for r in registry)
    for r in registry:
        expected = REGISTRY_ACTIONS.get((r.route, r.method))
        assert r.action == (expected[0] if expected else None), r
        if r.route in ("manifest", "blob", "upload", "tags"):
            assert r.repository
        if r.route == "manifest":
            assert r.reference
        if r.route == "blob":
            assert (r.digest or "").startswith("sha256:")


def test_a_mount_names_its_digest_and_source() -> None:
    mounts = [r for r in RECORDING["push-immutable"].records
              if r.route == "upload" and r.method == "POST" and r.mount_from]
    assert mounts and all(r.mount_from == RECORDING.name and r.digest for r in mounts)


def test_a_download_is_linked_to_its_blob_by_digest() -> None:
    downloads = [r for r in RECORDS if r.kind == "storage"]
    redirected = {r.digest for r in RECORDS if r.route == "blob" and r.status == 307}
    assert downloads and all(r.digest in redirected and r.auth == "presigned"
                             for r in downloads)
    assert all("X-Amz-Signature" not in (r.location or "") for r in RECORDS)


def test_api_calls_are_recorded_with_their_operation_and_repository() -> None:
    api = [r for r in RECORDS if r.kind == "api"]
    assert {r.action for r in api} >= {"GetAuthorizationToken", "CreateRepository",
                                        "DescribeRepositories", "DescribeImages"}
    assert all(r.route == r.action and r.auth == "sigv4" for r in api)
    created = [r for r in api if r.action == "CreateRepository" and r.status == 200]
    assert {r.repository for r in created} == {RECORDING.name, RECORDING.name + "-imm"}


@pytest.mark.parametrize("label", ["push-v1", "pull-v2", "builtin-pull-v1"])
def test_records_of_an_ok_step_carry_no_reason_unless_refused(label: str) -> None:
    for r in RECORDING[label].records:
        assert (r.reason is not None) == (r.status >= 400), r
