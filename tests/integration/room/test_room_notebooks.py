"""The course's notebooks in a room (issue 20): four learners join one TLS room and each runs
a notebook of the course, at the same time, with the built-in engine (as a hosted room's
kernels would: no Docker on their side), exercises solved and checks strict (`labkit course
run --solutions`, on the learner's joined home). Each notebook's first cell finds the joined
room instead of starting a local lab, its commands and checks run as that learner in that
learner's account, and the instructor's board shows each learner's steps.

The notebooks are the ones that need most of the room: 02 (its exercise: the learner's own
tokens made short-lived, then expired), 04 (push), 05b (the learner's own lifecycle run; its
exercise moves the learner's own clock 15 days) and 08 (failures: the learner's own token
clock moves to the next morning while the others' logins stay valid, an IAM user and a second
account of the learner's own, a token from another region)."""

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
NOTEBOOKS = {"hedy": "02-authenticate", "ada": "04-push",
             "grace": "05b-lifecycle-and-immutability", "linus": "08-when-things-go-wrong"}
NAMES = tuple(NOTEBOOKS)
SAID = {  # what each notebook's checks say once they passed (a failed check stops the run)
    "hedy": ("an expired token is refused (403 DENIED); a new login gets a fresh one",),
    "ada": ("v1 is in the registry: 3 new layers pushed, then its manifest under the tag v1",),
    "grace": ("v1 expired by the lifecycle policy; v2, v3 and the moving latest kept",
              "your lab clock in the room: ", "(15d 0h ahead of the wall clock)",
              "the lifecycle policy expired hello-app-nightly:nightly-1 once it was old enough"),
    "linus": ("met 8 errors (no basic auth credentials, an expired token, name unknown, tag "
              "invalid, manifest unknown, not authorized, a token from another region, another "
              "account's repository), each explained by the lab and fixed",
              "your token clock in the room: ")}


def _execute(env: dict[str, str], notebook: str, out: Path
             ) -> subprocess.CompletedProcess[str]:
    """`labkit course run --solutions` for one notebook, on the learner's joined home."""
    return subprocess.run(
        [sys.executable, "-m", "labkit", "course", "run", "--engine", "builtin", "--solutions",
         "--only", notebook, "--home", env["LABKIT_HOME"], "--out", str(out),
         "--notebooks", str(ROOT / "notebooks")],
        env=env, capture_output=True, text=True, timeout=600)


def test_four_learners_run_a_notebook_in_one_room(tmp_path: Path,
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
                lambda n: _execute(learners[n], NOTEBOOKS[n], tmp_path / "out" / n), NAMES),
                strict=True))
        for name, run in runs.items():
            assert run.returncode == 0 and "1 passed, 0 failed" in run.stdout, (
                name, run.stdout[-2000:], run.stderr[-3000:])
            out = tmp_path / "out" / name / f"{NOTEBOOKS[name]}.ipynb"
            cells = json.loads(out.read_text())["cells"]
            first = "".join("".join(o.get("text") or o.get("data", {}).get("text/plain", ""))
                            for o in cells[1]["outputs"])
            assert "target: lab at 127.0.0.1:" in first and f"{lines[name].split('/')[2]}" \
                not in first, first  # the learner's own registry, not the room's API port
            said = "".join("".join(o.get("text") or o.get("data", {}).get("text/plain", ""))
                           for c in cells if c["cell_type"] == "code" for o in c["outputs"])
            assert all(words in said for words in SAID[name]), (name, said[-3000:])

        instructor = process.running(home)
        rows = {r["name"]: r for r in instructor.board()["rows"]}
        assert set(rows) == {"lab", *NAMES}  # linus's platform account is on linus's row
        for name in NAMES:
            # the repository is the notebook's set-up's (labkit's own calls do no step)
            assert {"logged_in", "pushed"} <= set(rows[name]["steps"]) or name == "hedy", \
                rows[name]
        assert "logged_in" in rows["hedy"]["steps"], rows["hedy"]
        assert rows["ada"]["failure"] is None, rows["ada"]["failure"]
        assert rows["linus"]["failure"] is not None  # 08 fails on purpose, section by section
        assert not rows["lab"]["steps"]  # nobody worked in the lab's own account
        assert instructor.clock()["offset"] == 0  # linus moved his own token clock only
    finally:
        for learner_env in learners.values():
            if (Path(learner_env["LABKIT_HOME"]) / "room.json").exists():
                labkit(learner_env, "classroom", "leave")
        process.stop(home)


pytestmark = pytest.mark.slow
