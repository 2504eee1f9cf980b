"""`labkit course run`: real notebooks, real kernels, a real lab, one line per notebook."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat

from labkit.course import NOTEBOOKS
from tests.integration.conftest import CourseRuns

ROOT = Path(__file__).resolve().parents[3]


def run_course(*args: str, cwd: Path = ROOT, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABKIT_", "AWS_"))}
    return subprocess.run([sys.executable, "-m", "labkit", "course", "run", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout)


def test_a_line_per_notebook_the_executed_copies_and_no_temp_home_left(
        course_runs: CourseRuns) -> None:
    """The session's `labkit course run --engine builtin --solutions --out DIR`: a PASS line
    per notebook with its time, each executed notebook written, its private lab gone after."""
    run = course_runs.solved_builtin
    lines = run.passed(len(NOTEBOOKS)).splitlines()
    for name in NOTEBOOKS:
        assert any(ln.startswith(f"PASS {name} ") and ln.endswith("s") for ln in lines), name
    assert f"{len(NOTEBOOKS)} passed, 0 failed" in lines[-1]
    assert run.out is not None
    nb = nbformat.read(run.out / "01-create-repository.ipynb", as_version=4)
    # streams, and the checks' lines (display data since they print as HTML too)
    text = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                   for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "hello-app exists and is empty" in text
    # the private lab is gone afterwards: its temp home was removed
    home = next(ln.split("lab home ", 1)[1] for ln in lines if "lab home " in ln)
    assert not Path(home).exists()


def test_a_failing_notebook_fails_the_run(tmp_path: Path) -> None:
    src = tmp_path / "notebooks"
    src.mkdir()
    nb = nbformat.read(ROOT / "notebooks" / "01-create-repository.ipynb", as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell('assert c.target.repositories() == "nope", '
                                                 '"a broken step"'))
    nbformat.write(nb, src / "01-create-repository.ipynb")
    r = run_course("--engine", "builtin", "--only", "01", "--notebooks", str(src),
                   "--out", str(tmp_path / "out"))
    assert r.returncode == 1
    fail = [ln for ln in r.stdout.splitlines() if ln.startswith("FAIL 01-create-repository")]
    assert fail and "AssertionError: a broken step" in fail[0], r.stdout
    assert "0 passed, 1 failed" in r.stdout


def test_unknown_notebook_is_a_usage_error() -> None:
    r = run_course("--only", "99-nothing")
    assert r.returncode == 2 and "unknown course step" in r.stderr
