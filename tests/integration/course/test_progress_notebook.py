"""Progress bars in a notebook executed headless (nbclient): plain text, never escape codes.

A real kernel pushes and pulls against a real lab, with each engine, with progress left on (as
outside `labkit course run`): the saved notebook must hold one plain line per layer and no
`\\x1b` or carriage return anywhere in its outputs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from labkit.course.tools.runner import isolated
from tests.integration.conftest import CourseRuns

CELLS = [
    "from labkit import course\nc = course.prepare('04-push')",
    "pushed = c.engine.push(c.uri('v1'))",
    # as 06-pull does: forget the course's images (the base stays), so the app layer travels
    "course.clean_local(c, base=False)\npulled = c.engine.pull(c.uri('v1'))\n"
    "pulled.count('Pull complete')",
]


def _texts(nb: nbformat.NotebookNode) -> list[str]:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            out.append(o.get("text", ""))
            out.extend(str(v) for v in o.get("data", {}).values())
            out.extend(o.get("traceback", []))
    return out


@pytest.fixture(params=["builtin", pytest.param("docker", marks=pytest.mark.docker)])
def engine(request: pytest.FixtureRequest) -> str:
    if request.param == "docker":
        request.getfixturevalue("require_docker")
    return str(request.param)


@pytest.fixture()
def daemon_free(engine: str, course_runs: CourseRuns) -> None:
    """With the Docker Engine, `isolated` takes a turn on the daemon: after the session's
    course runs had theirs (tests/course_runs.py), so this test does not wait for them."""
    if engine == "docker":
        course_runs.docker_done()


@pytest.mark.usefixtures("daemon_free")
def test_push_and_pull_progress_saves_plain_lines(engine: str, tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in CELLS])
    with isolated(engine=engine):
        os.environ.pop("LABKIT_PROGRESS")  # on by default in a kernel, as in JupyterLab
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
    nbformat.write(nb, tmp_path / "executed.ipynb")
    saved = (tmp_path / "executed.ipynb").read_text()
    assert "\\u001b" not in saved and "\x1b" not in saved
    texts = _texts(nb)
    assert not any("\x1b" in t or "\r" in t for t in texts)
    push_cell, pull_cell = nb.cells[1], nb.cells[2]
    # the Docker Engine is shared: another run's image may hold the layers, so the pull may
    # move none; every layer that did travel must have shown its bar
    downloaded = int(next(o for o in pull_cell.outputs
                          if o["output_type"] == "execute_result")["data"]["text/plain"])
    if engine == "builtin":  # a private store: v1's app layer always travels again
        assert downloaded >= 1
    for cell, action, moved in ((push_cell, "push", 3), (pull_cell, "", downloaded)):
        lines = [o["data"]["text/plain"] for o in cell.outputs
                 if o["output_type"] == "display_data"]
        assert len(lines) >= moved, f"progress missing for {cell.source!r}: {cell.outputs}"
        for line in lines:  # one final plain line per layer, e.g. `1a2b... Pushing 1.2kB / ...`
            assert re.fullmatch(r"[0-9a-f]{12}.* / .*\(100%\).*", line), line
            assert action in line.lower()
        html = [o["data"]["text/html"] for o in cell.outputs if o["output_type"] == "display_data"]
        assert all("<progress" in h for h in html)
