"""Progress bars: on for a terminal, off when asked or when nobody watches; never on stdout."""

from __future__ import annotations

import io
import sys

import pytest

from labkit.engines import progress


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_enabled_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LABKIT_PROGRESS", raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not progress.enabled()  # not a terminal, not a notebook
    monkeypatch.setattr(sys, "stderr", Tty())
    assert progress.enabled()
    assert not progress.enabled(progress=False)
    monkeypatch.setenv("LABKIT_PROGRESS", "0")
    assert not progress.enabled()
    monkeypatch.setenv("LABKIT_PROGRESS", "1")
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress.enabled()


def test_bar_writes_to_stderr_only(monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LABKIT_PROGRESS", "1")
    with progress.Progress().layer("sha256:" + "ab" * 32, 2000, "Pushing") as bar:
        bar.update(1000)
        bar.update(1000)
        bar.done("Pushed")
    out = capsys.readouterr()
    assert out.out == ""
    assert "abababababab" in out.err and "2.00k" in out.err


def test_disabled_bar_counts_silently(capsys: pytest.CaptureFixture[str]) -> None:
    bar = progress.Progress(progress=False).layer("sha256:" + "0" * 64, 10)
    bar.update(4)
    bar.set(7, 10)
    assert bar.n == 7
    bar.set(3)  # never backwards
    assert bar.n == 7
    bar.reset()
    bar.update(10)
    bar.done("Pull complete")
    assert bar.n == 10
    assert capsys.readouterr() == ("", "")


def test_outside_a_terminal_progress_is_plain_lines(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Switched on into a log or a pipe: one finished line per layer, no redraw codes."""
    monkeypatch.setenv("LABKIT_PROGRESS", "1")
    bars = progress.Progress()
    with bars.layer("sha256:" + "cd" * 32, 3000, "Downloading") as one, \
            bars.layer("sha256:" + "ef" * 32, 1000, "Downloading") as two:
        for _ in range(3):
            one.update(1000)
        two.update(1000)
        one.done("Pull complete")
        two.done("Pull complete")
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b" not in err
    assert err.splitlines() == [
        "cdcdcdcdcdcd Downloading  3.00kB / 3.00kB (100%)  Pull complete",
        "efefefefefef Downloading  1.00kB / 1.00kB (100%)  Pull complete"]


def test_plain_line_without_a_known_size() -> None:
    assert progress.plain_line("abc push", 1500, 0) == "abc push  1.50kB"
