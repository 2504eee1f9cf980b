"""The notebooks' views and checks on real report objects: what learners read must be right."""

from __future__ import annotations

import pytest

from labkit import course
from labkit.course import checks, views
from labkit.engines.report import EXISTS_LOCAL, PULLED, LayerOutcome, TransferReport

A, B, C, D, CFG = ("sha256:" + ch * 64 for ch in "abcdf")


def pull(ref: str, *layers: tuple[str, str]) -> TransferReport:
    return TransferReport("pull", ref, "builtin",
                          [LayerOutcome(d, 100, s, 100 if s == PULLED else 0) for d, s in layers])


V1 = pull("r/hello-app:v1", (A, PULLED), (B, PULLED), (C, PULLED))
V2 = pull("r/hello-app:v2", (A, EXISTS_LOCAL), (B, EXISTS_LOCAL), (D, PULLED))


def test_layer_table_marks_shared_and_new_layers() -> None:
    table = views.layer_table(V2, compare=V1)
    assert [row[3] for row in table.rows] == ["shared", "shared", "new"]
    text = repr(table)
    assert "compared with hello-app:v1" in text and "dddddddddddd  Pull complete" in text
    assert "<td>new</td>" in table._repr_html_()


def test_pull_story_from_a_trace() -> None:
    trace = [
        {"seq": 1, "path": "/v2/", "method": "GET", "status": 401,
         "challenge": 'Basic realm="x"'},
        {"seq": 2, "path": "/v2/r/manifests/v2", "method": "GET", "status": 200},
        {"seq": 3, "path": f"/v2/r/blobs/{CFG}", "method": "GET", "status": 307},
        {"seq": 4, "path": "/_storage/blobs/sha256/f", "method": "GET", "status": 200},
        {"seq": 5, "path": f"/v2/r/blobs/{D}", "method": "GET", "status": 307},
        {"seq": 6, "path": "/_storage/blobs/sha256/d", "method": "GET", "status": 200},
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
