"""The notebooks' views and checks on real report objects: what learners read must be right."""

from __future__ import annotations

import pytest

from labkit import course
from labkit.course import checks, views
from labkit.engines.report import EXISTS_LOCAL, PULLED, PUSHED, LayerOutcome, TransferReport
from labkit.trace.record import TraceRecord

A, B, C, D, CFG = ("sha256:" + ch * 64 for ch in "abcdf")


def pull(ref: str, *layers: tuple[str, str]) -> TransferReport:
    return TransferReport("pull", ref, "builtin",
                          [LayerOutcome(d, 100, s, 100 if s == PULLED else 0) for d, s in layers])


V1 = pull("r/hello-app:v1", (A, PULLED), (B, PULLED), (C, PULLED))
V2 = pull("r/hello-app:v2", (A, EXISTS_LOCAL), (B, EXISTS_LOCAL), (D, PULLED))


def test_layer_table_marks_shared_and_new_layers() -> None:
    table = views.layer_table(V2, compare=V1)
    assert [row[4] for row in table.rows] == ["shared", "shared", "new"]
    text = repr(table)
    assert "compared with hello-app:v1" in text
    assert table.rows[2][1:4] == ["d" * 12, "d" * 12, "Pull complete"]  # pull: the digest
    assert "<td>new</td>" in table._repr_html_()


def test_a_push_table_shows_the_diff_id_docker_printed_beside_the_registry_digest() -> None:
    diff = "sha256:" + "e" * 64
    push = TransferReport("push", "r/hello-app:v1", "docker", [
        LayerOutcome(A, 100, PUSHED, 100, "layer", diff), LayerOutcome(B, 100, PUSHED, 100)])
    table = views.layer_table(push)
    assert table.headers[1:3] == ["docker push printed", "registry digest"]
    assert table.rows[0][1:3] == ["e" * 12, "a" * 12]
    assert table.rows[1][1] == "?"  # no DiffID known: never the digest in its place


def test_pull_story_from_a_trace() -> None:
    def rec(seq: int, route: str, status: int, digest: str | None = None, **kw: object
            ) -> TraceRecord:
        storage = route == "storage"
        return TraceRecord(seq=seq, time=float(seq), kind="storage" if storage else "registry",
                           method="GET", status=status, route=route, digest=digest,
                           repository=None if storage or route == "base" else "r/hello-app",
                           auth="presigned" if storage else "basic", **kw)  # type: ignore[arg-type]

    trace = [
        TraceRecord(seq=1, time=1.0, method="GET", status=401, route="base", auth="none",
                    challenge='Basic realm="x"'),
        rec(2, "manifest", 200, reference="v2"),
        rec(3, "blob", 307, CFG),
        rec(4, "storage", 200, CFG),
        rec(5, "blob", 307, D),
        rec(6, "storage", 200, D),
    ]
    story = views.pull_story(trace, V2)
    assert story.challenged and story.challenge == "Basic" and story.manifest_fetched
    assert story.config == CFG and story.blobs_fetched == [CFG, D]
    assert story.redirected == story.from_storage == 2 and story.skipped == [A, B]
    assert "1 fetched" in repr(story) and "2 skipped" in repr(story)


class _Course:  # what registry_address reads of a Course: only its registry address
    registry = "127.0.0.1:5400"


def test_an_unsolved_exercise_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LABKIT_SOLUTIONS", raising=False)
    got = checks.registry_address(_Course(), "")
    assert isinstance(got, checks.NotYet) and repr(got).startswith("not yet: set `answer`")
    assert "not yet" in got._repr_html_()
    assert repr(checks.registry_address(_Course(), "127.0.0.1:5400")).startswith("correct: ")


def test_with_the_solutions_a_check_is_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABKIT_SOLUTIONS", "1")
    with pytest.raises(checks.CheckFailed, match="without http"):
        checks.registry_address(_Course(), "http://127.0.0.1:5400")


def test_course_steps_are_found_by_name_or_number() -> None:
    assert course.index("04") == course.index("04-push") == 4
    with pytest.raises(ValueError, match="unknown course step"):
        course.index("push")
