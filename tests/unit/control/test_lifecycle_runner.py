"""The runner applies what the evaluator says: on a command, per repository, on a schedule."""

from __future__ import annotations

import json
import threading

import pytest

from labkit.lab.control.lifecycle_runner import (
    LifecycleRunner,
    UnknownRepository,
    interval_from_env,
)
from labkit.lab.housekeeping.clock import LabClock
from tests.fakes.lifecycle_backend import FakeLifecycleBackend

DAY = 86400.0
KEEP_TWO = json.dumps({"rules": [{"rulePriority": 1, "description": "keep the last two",
                                  "selection": {"tagStatus": "any",
                                                "countType": "imageCountMoreThan",
                                                "countNumber": 2},
                                  "action": {"type": "expire"}}]})
OLDER_THAN_14 = json.dumps({"rules": [{"rulePriority": 1, "selection": {
    "tagStatus": "tagged", "tagPatternList": ["v*"], "countType": "sinceImagePushed",
    "countUnit": "days", "countNumber": 14}, "action": {"type": "expire"}}]})


@pytest.fixture
def backend() -> FakeLifecycleBackend:
    b = FakeLifecycleBackend()
    for i in range(1, 5):
        b.add("app", f"sha256:{i}", [f"v{i}"], 1000.0 + i)
        b.add("other", f"sha256:o{i}", [f"v{i}"], 1000.0 + i)
    b.policies["app"] = KEEP_TWO
    return b


def test_run_expires_what_the_policy_says_and_only_there(backend):
    runner = LifecycleRunner(backend, clock=lambda: 2000.0, interval=0)
    [result] = runner.run()
    assert [v.tags for v in result.expired] == [["v1"], ["v2"]]
    assert backend.digests("app") == ["sha256:3", "sha256:4"]
    assert len(backend.digests("other")) == 4  # no policy there: untouched
    assert runner.run()[0].expired == []  # idempotent: nothing more to do


def test_run_one_repository(backend):
    backend.policies["other"] = KEEP_TWO
    runner = LifecycleRunner(backend, clock=lambda: 2000.0, interval=0)
    [result] = runner.run("other")
    assert result.repository == "other" and len(result.expired) == 2
    assert len(backend.digests("app")) == 4
    with pytest.raises(UnknownRepository):
        runner.run("nope")


def test_an_invalid_stored_policy_is_reported_not_raised(backend):
    backend.policies["other"] = '{"rules": []}'
    results = {r.repository: r for r in LifecycleRunner(backend, lambda: 2000.0, 0).run()}
    assert "validation failure" in results["other"].error
    assert len(results["app"].expired) == 2  # the other repository still ran


def test_the_lab_clock_makes_since_image_pushed_fire(tmp_path):
    wall = 1_800_000_000.0
    b = FakeLifecycleBackend()
    b.add("app", "sha256:a", ["v1"], wall - DAY)
    b.policies["app"] = OLDER_THAN_14
    clock = LabClock(tmp_path, wall=lambda: wall)
    runner = LifecycleRunner(b, clock=clock.now, interval=0)
    assert runner.run()[0].expired == []
    clock.advance(14 * DAY)
    assert [v.digest for v in runner.run()[0].expired] == ["sha256:a"]


def test_after_expiry_hook_runs_only_when_something_expired(backend):
    calls = []
    runner = LifecycleRunner(backend, lambda: 2000.0, 0, after_expiry=lambda: calls.append(1))
    runner.run()
    runner.run()
    assert calls == [1]


def test_schedule_runs_in_the_background(backend):
    done = threading.Event()
    runner = LifecycleRunner(backend, lambda: 2000.0, interval=0.05, after_expiry=done.set)
    runner.start()
    try:
        assert done.wait(10), "the scheduled run never expired anything"
    finally:
        runner.stop()
    assert backend.digests("app") == ["sha256:3", "sha256:4"]


def test_interval_from_env(monkeypatch):
    monkeypatch.delenv("LABKIT_LIFECYCLE_INTERVAL", raising=False)
    assert interval_from_env() == 60.0
    monkeypatch.setenv("LABKIT_LIFECYCLE_INTERVAL", "0")
    assert interval_from_env() == 0.0
    monkeypatch.setenv("LABKIT_LIFECYCLE_INTERVAL", "soon")
    assert interval_from_env() == 60.0
