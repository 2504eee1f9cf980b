"""The course's notebooks in a room (issue 20): three learners join one TLS room and each runs
a notebook of the course, at the same time, with the built-in engine (as a hosted room's
kernels would: no Docker on their side). Each notebook's first cell finds the joined room
instead of starting a local lab, its commands and checks run as that learner in that
learner's account, and the instructor's board shows each learner's steps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.integration.room.test_classroom import labkit, learner

ROOT = Path(__file__).resolve().parents[3]
NOTEBOOK = "04-push"
NAMES = ("ada", "grace", "linus")


def _execute(env: dict[str, str], out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
         "--ExecutePreprocessor.timeout=300", "--output", str(out),
         str(ROOT / "notebooks" / f"{NOTEBOOK}.ipynb")],
        env=env, capture_output=True, text=True, timeout=600)


def test_three_learners_run_a_notebook_in_one_room(tmp_path: Path,
                                                   require_aws_cli: None) -> None:
    from labkit.lab import process

    home = tmp_path / "instructor"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LABKIT_"))}
    up = labkit(env, "classroom", "up", "--names", ",".join(NAMES), "--home", str(home),
                "--port", str(free_port()))
    lines = {ln.split()[0]: ln.split()[-1] for ln in up.stdout.splitlines()
             if not ln.startswith("#")}
    learners = {}
    try:
        for name in NAMES:
            learners[name] = learner(tmp_path, name, "builtin")
            labkit(learners[name], "classroom", "join", lines[name])
        with ThreadPoolExecutor(len(NAMES)) as pool:
            runs = dict(zip(NAMES, pool.map(
                lambda n: _execute(learners[n], tmp_path / f"{n}.ipynb"), NAMES), strict=True))
        for name, run in runs.items():
            assert run.returncode == 0, (name, run.stderr[-3000:])
            cells = json.loads((tmp_path / f"{name}.ipynb").read_text())["cells"]
            first = "".join("".join(o.get("text") or o.get("data", {}).get("text/plain", ""))
                            for o in cells[1]["outputs"])
            assert "target: lab at 127.0.0.1:" in first and f"{lines[name].split('/')[2]}" \
                not in first, first  # the learner's own registry, not the room's API port

        rows = {r["name"]: r for r in process.running(home).board()["rows"]}
        for name in NAMES:
            # the repository is the notebook's set-up's (labkit's own calls do no step)
            assert {"logged_in", "pushed"} <= set(rows[name]["steps"]), rows[name]
            assert rows[name]["failure"] is None, rows[name]["failure"]
        assert not rows["lab"]["steps"]  # nobody worked in the lab's own account
    finally:
        for learner_env in learners.values():
            if (Path(learner_env["LABKIT_HOME"]) / "room.json").exists():
                labkit(learner_env, "classroom", "leave")
        process.stop(home)


pytestmark = pytest.mark.slow
