"""`labkit course run`: real notebooks, real kernels, a real lab, one line per notebook."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from tests.course_runs import SOLVED
from tests.integration.conftest import CourseRuns

ROOT = Path(__file__).resolve().parents[3]


def run_course(*args: str, cwd: Path = ROOT, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABKIT_", "AWS_"))}
    return subprocess.run([sys.executable, "-m", "labkit", "course", "run", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout)


def test_a_line_per_notebook_the_executed_copies_and_no_temp_home_left(
        course_runs: CourseRuns) -> None:
    """The session's `labkit course run --engine builtin --solutions --only .. --out DIR`: a
    PASS line per notebook with its time, each executed notebook written, its private lab gone
    after."""
    run = course_runs.solved_builtin
    lines = run.passed(len(SOLVED)).splitlines()
    for name in SOLVED:
        assert any(ln.startswith(f"PASS {name} ") and ln.endswith("s") for ln in lines), name
    assert f"{len(SOLVED)} passed, 0 failed" in lines[-1]
    assert sorted(p.stem for p in run.out.glob("*.ipynb")) == sorted(SOLVED)  # only those
    assert run.out is not None
    nb = nbformat.read(run.out / "01-create-repository.ipynb", as_version=4)
    # streams and results (a step check's verdict is the cell's value)
    text = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
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


_OWNER = """
import sys, time
from pathlib import Path
from labkit.course.tools.runner import isolated
from labkit.lab import process
home = Path(sys.argv[1]) if len(sys.argv) > 1 else None
with isolated(engine="builtin", home=home) as root:
    lab = process.start()
    print(lab.pid, root, flush=True)
    time.sleep(300)
"""


def _killed_owner(*args: str) -> tuple[int, Path]:
    """A course run (`isolated`) that started its lab, then was SIGKILLed before its clean-up
    (as a CI timeout kills): the lab's pid and home."""
    from labkit.lab.process.pids import alive

    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABKIT_", "AWS_"))}
    p = subprocess.Popen([sys.executable, "-c", _OWNER, *args], env=env, text=True,
                         stdout=subprocess.PIPE)
    try:
        assert p.stdout is not None
        pid, root = p.stdout.readline().split(maxsplit=1)
    finally:
        p.kill()
        p.wait()
    assert alive(int(pid)), "the lab did not start"
    return int(pid), Path(root.strip())


def test_a_killed_course_run_leaves_no_lab_but_a_kept_home_keeps_its_lab(tmp_path: Path) -> None:
    """The private lab of a temp home belongs to the run (LABKIT_LAB_OWNER): it stops by itself
    once the run is gone. A `--home` lab is kept on purpose (a maintainer inspects it)."""
    from labkit.lab import process
    from labkit.lab.process.pids import alive

    pid, home = _killed_owner()
    try:
        deadline = time.monotonic() + 20
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(pid), "the lab outlived the course run that owned it"
        assert not (home / "lab.json").exists()  # a clean stop: the lab removed its state
        assert "ended: stopping" in (home / "lab.log").read_text()
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(home, ignore_errors=True)

    kept = tmp_path / "kept"
    pid, home = _killed_owner(str(kept))
    try:
        assert home == kept.resolve()
        time.sleep(3)  # the owner watch looks every second: it would have stopped by now
        assert alive(pid) and process.running(kept) is not None
    finally:
        assert process.stop(kept)
