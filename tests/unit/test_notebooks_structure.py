"""Each notebook follows the course's shape and was committed fully executed."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from labkit.course import checks
from labkit.course.state import NOTEBOOKS

HERE = Path(__file__).resolve().parents[2] / "notebooks"


def load(name: str) -> nbformat.NotebookNode:
    return nbformat.read(HERE / f"{name}.ipynb", as_version=4)


def code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_folder_holds_exactly_the_course() -> None:
    assert sorted(p.stem for p in HERE.glob("*.ipynb")) == sorted(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_questions_objectives_key_points(name: str) -> None:
    nb = load(name)
    opening, closing = nb.cells[0], nb.cells[-1]
    assert opening.cell_type == "markdown" and opening.source.startswith("# ")
    assert "## Questions" in opening.source and "## Objectives" in opening.source
    assert closing.cell_type == "markdown" and closing.source.startswith("## Key points")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_first_code_cell_prepares_this_step(name: str) -> None:
    first = code_cells(load(name))[0]
    assert f'course.prepare("{name}")' in first.source


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_exercise_with_collapsed_solution_and_a_check(name: str) -> None:
    nb = load(name)
    cells = nb.cells
    ex = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and "## Exercise" in c.source]
    assert ex, "no exercise"
    sol = [i for i, c in enumerate(cells) if "solution" in c.metadata.get("tags", [])]
    assert sol and sol[0] > ex[0], "no solution cell after the exercise"
    assert cells[sol[0]].metadata.get("jupyter", {}).get("source_hidden") is True
    after = "".join(c.source for c in cells[sol[0] + 1:] if c.cell_type == "code")
    used = re.findall(r"checks\.(\w+)\(", after)
    assert used, "no labkit.course.checks call after the solution"
    for fn in used:
        assert callable(getattr(checks, fn, None)), f"checks.{fn} does not exist"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_each_notebook_checks_its_own_result(name: str) -> None:
    lines = [ln for c in code_cells(load(name)) for ln in c.source.splitlines()]
    assert any(ln.startswith("assert ") for ln in lines), "no asserting cell"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_executed_without_errors_or_progress_bars(name: str) -> None:
    for cell in code_cells(load(name)):
        assert cell.execution_count is not None, "run `labkit course run --update`"
        for out in cell.outputs:
            assert out.output_type != "error", f"committed with an error: {out.get('evalue')}"
            assert not (out.output_type == "stream" and out.name == "stderr"), \
                f"stderr (progress bars?) in the committed outputs: {out.text[:80]!r}"
            assert "application/vnd.jupyter.widget-view+json" not in out.get("data", {})


def test_the_seed_commands_are_all_shown() -> None:
    text = {name: "\n".join(c.source for c in load(name).cells) for name in NOTEBOOKS}
    assert "aws ecr get-login-password --region" in text["02-authenticate"]
    assert "(Get-ECRLoginCommand).Password | docker login --username AWS --password-stdin" \
        in text["02-authenticate"]
    assert "docker tag hello-app:v1 ACCOUNT.dkr.ecr.REGION.amazonaws.com/hello-app:v1" \
        in text["03-tag"]
    assert "docker push" in text["04-push"] and "layer by layer" in text["04-push"]
    assert "Layer already exists" in text["05-push-a-second-version"]
    assert "one repository per image" in text["01-create-repository"].lower()
    assert "diagrams.pull_flow(" in text["06-pull"] and "diagrams.layer_reuse(" in text["06-pull"]
    assert "LABKIT_TARGET=aws" in text["00-setup"] and "Cost" in text["00-setup"]
    assert "cleanup()" in text["07-clean-up"]
