"""The lab clock: an offset over the wall clock, stored under the home, re-read when moved."""

from __future__ import annotations

import pytest

from labkit.lab.housekeeping.clock import ClockError, LabClock, describe, parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("15d", 15 * 86400), ("36h", 36 * 3600), ("90m", 5400), ("30s", 30), ("2w", 14 * 86400),
    ("45", 45), (" 1.5d ", 1.5 * 86400)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "d", "15 days", "-3d", "1y"])
def test_parse_duration_refuses(text):
    with pytest.raises(ClockError, match="15d"):
        parse_duration(text)


def test_advance_survives_a_new_clock_on_the_same_home(tmp_path):
    first = LabClock(tmp_path, wall=lambda: 1000.0)
    assert first.now() == 1000.0
    first.advance(parse_duration("15d"))
    again = LabClock(tmp_path, wall=lambda: 1000.0)  # a restarted lab
    assert again.now() == 1000.0 + 15 * 86400
    assert again.status()["offset_text"] == "15d 0h"


def test_a_running_clock_sees_another_process_move_it(tmp_path):
    lab = LabClock(tmp_path, wall=lambda: 0.0)
    assert lab.offset == 0
    LabClock(tmp_path).advance(3600)  # the CLI, another process
    assert lab.offset == 3600
    LabClock(tmp_path).reset()
    assert lab.offset == 0


def test_only_forward(tmp_path):
    clock = LabClock(tmp_path)
    with pytest.raises(ClockError, match="positive"):
        clock.advance(-1)
    with pytest.raises(ClockError, match="ten years"):
        clock.advance(11 * 365 * 86400)
    assert clock.offset == 0


def test_a_damaged_file_means_no_offset(tmp_path):
    (tmp_path / "clock.json").write_text("{not json")
    assert LabClock(tmp_path).offset == 0.0


def test_describe():
    assert describe(0) == "0s"
    assert describe(5400) == "1h 30m"
    assert describe(15 * 86400 + 7200) == "15d 2h"
