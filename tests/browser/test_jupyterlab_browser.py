"""What a learner sees in JupyterLab, in a real browser (headless Chromium from Debian).

`labkit course open` makes the workspace and starts JupyterLab on loopback; Chromium opens
04-push and 06-pull, runs all cells from the Run menu and checks: the push report table, the
pull-flow figure as an image of real size, solution blocks that start closed, the push's
progress lines without escape codes, and no error output. A screenshot of each notebook is saved under
the test's tmp_path (and copied to build/screenshots/ for people to look at).

Solutions: the check works with both forms of a solution block: a markdown `<details>` element
(must not be open) and a code cell tagged `solution` (its input must be collapsed).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from labkit.lab.process import free_port
from tests.browser import lab_browser
from tests.conftest import need
from tests.course_open import OpenCourse, learner_env

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "screenshots"


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Any:
    need(not lab_browser.missing(), lab_browser.missing())
    base = tmp_path_factory.mktemp("browser")
    env = learner_env(LABKIT_HOME=str(base / "lab-home"), LABKIT_PORT=str(free_port()),
                      LABKIT_ENGINE=os.environ.get("LABKIT_ENGINE", "builtin"),
                      **lab_browser.jupyterlab_env(base / "jupyterlab"))
    ws = base / "workspace"
    opened = OpenCourse([sys.executable, "-m", "labkit", "course", "open", "--dir", str(ws),
                         "--no-browser"], env, cwd=base)
    driver = None
    try:
        driver = lab_browser.chromium(base / "chromium-profile")
        yield opened, driver, ws
    finally:
        if driver is not None:
            driver.quit()
        opened.stop()
        from labkit.lab import process

        process.stop(base / "lab-home")


def _run(course: Any, name: str, tmp_path: Path, focus: str) -> list[dict[str, Any]]:
    opened, driver, ws = course
    lab_browser.open_notebook(driver, opened.url.replace("00-setup", name))
    lab_browser.run_all(driver)
    cells = lab_browser.inspect(driver)
    shot = lab_browser.screenshot(driver, tmp_path / f"{name}.png", focus)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SHOTS / shot.name)
    _no_errors(cells)
    _solutions_start_closed(cells, ws / "notebooks" / f"{name}.ipynb")
    return cells


def _no_errors(cells: list[dict[str, Any]]) -> None:
    for cell in cells:
        for err in cell["stderr"]:
            assert "Traceback" not in err and "Error" not in err, err
        assert "\x1b" not in cell["text"] and "[A" not in cell["text"], cell["text"]


def _solutions_start_closed(cells: list[dict[str, Any]], path: Path) -> None:
    """Every <details> is closed; every code cell tagged `solution` shows only its placeholder."""
    for cell in cells:
        for block in cell["details"]:
            assert not block["open"], f"solution block {block['summary']!r} starts open"
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    shown = [c for c in cells if c["code"]]
    assert len(shown) == len(code)
    for src, seen in zip(code, shown, strict=True):
        if "solution" in src.get("metadata", {}).get("tags", []):
            assert seen["inputHidden"], f"solution cell shows its code: {''.join(src['source'])}"
    assert any(c["details"] for c in cells) or any(
        "solution" in c.get("metadata", {}).get("tags", []) for c in code), "no solution block"


def test_push_notebook_shows_the_report_table(course: Any, tmp_path: Path) -> None:
    cells = _run(course, "04-push", tmp_path, ".jp-OutputArea-output table")
    tables = [t for c in cells for t in c["tables"]]
    # the layer table: docker's DiffID beside the registry's digest, and what became of each
    assert any("docker push printed" in t and "registry digest" in t and "Pushed" in t
               for t in tables), tables
    # the push itself is the docker command (a %%bash cell): its per-layer lines must be plain
    pushes = [c["text"] for c in cells if "docker push" in c["source"]]
    assert pushes and all("\x1b" not in t for t in pushes), pushes


def test_pull_notebook_draws_the_pull_flow(course: Any, tmp_path: Path) -> None:
    cells = _run(course, "06-pull", tmp_path, ".jp-OutputArea-output img")
    figures = [img for c in cells for img in c["images"]
               if "pull_flow" in c["source"] or "pull-flow" in img["src"]]
    assert figures, "no pull-flow figure in 06-pull"
    for img in figures:
        assert img["complete"] and img["w"] > 300 and img["h"] > 100, img
