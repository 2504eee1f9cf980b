"""Hostile input (issue 5): hypothesis fuzzes the registry's HTTP surface of a running lab."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.reliability import fuzzing

pytestmark = pytest.mark.reliability
EXAMPLES = int(os.environ.get("LABKIT_FUZZ_EXAMPLES", "400"))


def test_hostile_requests_get_spec_errors_and_write_nothing_outside(own_lab) -> None:
    outside = Path(own_lab.home).resolve().parent  # the lab's home and its neighbours
    victim = outside / "victim"
    victim.mkdir(exist_ok=True)
    (victim / "keep").write_text("must not change")
    outcome = fuzzing.run(own_lab, "fuzz/target", outside, EXAMPLES)
    assert outcome.tried >= EXAMPLES
    assert (victim / "keep").read_text() == "must not change"
    # the fuzz reached the handlers, not only the front door
    assert {200, 404}.issubset(outcome.extra["statuses"]), outcome.extra["statuses"]
    outcome.check()
