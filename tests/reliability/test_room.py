"""A room of 30 learners doing the course's flow at once against one lab (issue 12).

Bounded (small layers, a deadline for the whole room) and deterministic: it asserts what every
learner got (digests, layers moved, DescribeImages), never how fast. `tests/bench/room.py`
reports the timings and memory, for 30 and 100 learners.
"""

from __future__ import annotations

import pytest

from tests.conftest import free_port
from tests.reliability import room

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

LEARNERS = 30


def test_thirty_learners_each_do_the_whole_flow_at_once(tmp_path) -> None:
    from labkit.lab import process

    home = tmp_path / "lab-home"
    lab = process.start(home, port=free_port())
    try:
        learners = room.prepare(lab, tmp_path / "room", LEARNERS, layer_bytes=32 << 10)
        result = room.run(lab, learners, timeout=420)
        print(result.table())  # the numbers, for whoever reads the log; nothing asserts them
        assert not result.lost, "\n".join(result.lost)
        assert result.succeeded == LEARNERS
        assert all(len(v) == LEARNERS for v in result.per_step.values())
        assert process.running(home) is not None  # and the lab is still up
        described = room.support.ecr(lab).describe_repositories()["repositories"]
        assert len([r for r in described if r["repositoryName"].startswith("room/")]) == LEARNERS
    finally:
        process.stop(home)
