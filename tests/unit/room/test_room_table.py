"""The board's rows as JSON and CSV (labkit/room/table.py): one shape for the page, the
download and `labkit lab board --csv`."""

from __future__ import annotations

import csv
import io

from labkit.room import board
from labkit.room.table import HEADER, row, to_csv
from labkit.trace.explain import Lookups, explain
from tests.unit.room.test_room_board import ADA, T0, act


def test_a_row_carries_the_steps_the_failure_explained_and_the_flags() -> None:
    p = board.progress(act(ADA, ["login", "push-no-repository", "create"], T0))
    ex = explain(p.failure, Lookups("127.0.0.1:5400", repositories=lambda: []))
    doc = row("123456789012", "lab", p, ex)
    assert set(doc["steps"]) == {"logged_in", "created"}
    f = doc["failure"]
    assert f["case"] == "no-repository" and f["fix"].startswith("aws ecr create-repository")
    assert f["answered"].startswith("404 NAME_UNKNOWN") and f["attempts"] == 1
    assert f["resolved"] is False and doc["flags"] == []


def test_the_csv_has_a_column_per_step_and_a_row_per_learner() -> None:
    p = board.progress(act(ADA, ["login", "create", "push-v1"], T0))
    rows = [dict(row("123456789012", "lab", p, None), flags=["idle: nothing for 12 min"]),
            row("210987654321", "=HYPERLINK(\"x\")", board.progress([]), None)]
    table = list(csv.reader(io.StringIO(to_csv(rows))))
    assert table[0] == HEADER
    assert HEADER[2:8] == [label for _, label in board.STEPS]
    first = dict(zip(HEADER, table[1], strict=True))
    assert first["account"] == "123456789012"
    assert first["v1 pushed"].startswith("20") and first["v1 pushed"].endswith("Z")
    assert first["v2 pushed, layers reused"] == "" and first["cleaned up"] == ""
    assert first["last failure"] == "" and first["resolved"] == ""
    assert first["flags"] == "idle: nothing for 12 min"
    second = dict(zip(HEADER, table[2], strict=True))
    assert second["name"] == "'=HYPERLINK(\"x\")"  # never a formula in a spreadsheet
    assert all(second[label] == "" for _, label in board.STEPS)
