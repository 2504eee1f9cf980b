"""The learner's workspace: filled from the kit, their notebooks kept, new ones added."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.course.state import NOTEBOOKS
from labkit.course.tools import runner, workspace


def test_first_fill_copies_every_notebook_and_figure(tmp_path: Path) -> None:
    done = workspace.fill(tmp_path / "ws")
    assert done.added == [f"{n}.ipynb" for n in NOTEBOOKS] and done.kept == []
    for name in NOTEBOOKS:
        copy = tmp_path / "ws" / "notebooks" / f"{name}.ipynb"
        assert copy.read_bytes() == (runner.notebooks_dir() / f"{name}.ipynb").read_bytes()
    figures = runner.images_dir()
    assert figures is not None
    shipped = sorted(p.name for p in figures.glob("*.png"))
    assert shipped and sorted(done.figures) == shipped
    assert sorted(p.name for p in (tmp_path / "ws" / "images").iterdir()) == shipped
    assert not list((tmp_path / "ws").rglob("*.part"))


def test_second_fill_keeps_the_learners_work_and_adds_new_notebooks(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    workspace.fill(ws)
    mine = ws / "notebooks" / "04-push.ipynb"
    nb = json.loads(mine.read_text())
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "my own notes"})
    mine.write_text(json.dumps(nb))
    edited = mine.read_bytes()
    (ws / "notebooks" / "06-pull.ipynb").unlink()  # as if 06 were new in an upgraded kit

    again = workspace.fill(ws)
    assert mine.read_bytes() == edited
    assert again.added == ["06-pull.ipynb"]
    assert "04-push.ipynb" in again.kept and len(again.kept) == len(NOTEBOOKS) - 1
    assert again.figures == []  # figures already up to date
    text = "\n".join(again.summary())
    assert "added 1 notebook(s): 06-pull.ipynb" in text
    assert f"kept your {len(NOTEBOOKS) - 1} notebook(s)" in text


def test_default_workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LABKIT_WORKSPACE", raising=False)
    assert workspace.default_workspace() == Path.home() / "labkit-course"
    monkeypatch.setenv("LABKIT_WORKSPACE", str(tmp_path / "mine"))
    assert workspace.default_workspace() == tmp_path / "mine"
