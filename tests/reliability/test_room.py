"""A room of 30 learners doing the course's flow at once against one lab (issues 12 and 20).

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


def test_a_tls_classroom_of_thirty_each_learner_an_account_and_the_board_follows(
        tmp_path) -> None:
    """The room as `labkit classroom` runs it: one lab over TLS (its own CA, verified by every
    client), each learner an account of it with its own keys and registry, all pushing to a
    repository named hello-app. Every learner's flow succeeds in their own account; the
    instructor's board has a row per learner with every step the room did; the learners who
    first pushed before creating their repository show that failure, explained, got past."""
    from labkit.engines.base import EngineError
    from labkit.lab import process

    home = tmp_path / "lab-home"
    lab = process.start(home, port=free_port(), tls=True)
    try:
        assert lab.endpoint_url.startswith("https://")
        learners = room.prepare(lab, tmp_path / "room", LEARNERS, layer_bytes=32 << 10,
                                accounts=True)
        assert len({x.registry for x in learners}) == LEARNERS  # a registry each
        hasty = learners[::6]  # these push before they create the repository
        for x in hasty:
            x.engine.login(x.registry, *room.support.registry_credentials(x.ecr))
            with pytest.raises(EngineError, match="name unknown"):
                x.engine.push(x.refs["1.0"], progress=False)
        result = room.run(lab, learners, timeout=420)
        print(result.table())  # the numbers, for whoever reads the log; nothing asserts them
        assert not result.lost, "\n".join(result.lost)
        assert result.succeeded == LEARNERS
        assert all(len(v) == LEARNERS for v in result.per_step.values())
        assert process.running(home) is not None  # and the lab is still up
        for x in learners:  # each account holds its own hello-app, two images
            described = x.ecr.describe_repositories()["repositories"]
            assert [r["repositoryName"] for r in described] == ["hello-app"]

        rows = {r["name"]: r for r in lab.board()["rows"]}
        assert set(rows) >= {f"learner-{i:03d}" for i in range(LEARNERS)}
        for x in learners:
            row = rows[f"learner-{x.index:03d}"]
            assert set(row["steps"]) == {"created", "logged_in", "pushed", "reused",
                                         "pulled"}, (x.index, row["steps"])
            if x in hasty:
                failure = row["failure"]
                assert failure["case"] == "no-repository" and failure["resolved"], failure
                assert failure["fix"] == "aws ecr create-repository --repository-name hello-app"
            else:
                assert row["failure"] is None, (x.index, row["failure"])
    finally:
        process.stop(home)
