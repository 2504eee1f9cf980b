"""The course's notebooks executed once per test session, for several tests' assertions.

A whole course run costs minutes (a kernel per notebook, an `aws` process per command, real
builds and pushes), so each set of executions runs once and serves every test that asks about
it (the `course_runs` fixture, tests/integration/conftest.py):

- `nbval_builtin`, `nbval_docker`: `pytest --nbval notebooks` with LABKIT_ENGINE=builtin (what
  `pytest notebooks` does without Docker) and =docker: the committed outputs validate with
  either engine;
- `habits_builtin`, `habits_docker`: the learner's habits on each engine, in a process of its
  own (tests/integration/course/test_course_habits.py `play`): every notebook run twice in
  reverse order, the second Run All doing the exercises (each folded solution, strict checks:
  every exercise solvable), then after terminal work; with the ECR actions the course called;
- `solved_builtin`: `labkit course run --engine builtin --solutions` over SOLVED (the command as
  a learner or CI runs it: one line per notebook, the executed copies with their unfolded
  solutions, its temp home removed). Two notebooks: the whole course on the built-in engine
  runs in nbval's run (forward, fresh lab) and in the habits' (every exercise solved), so a
  third whole run would prove nothing new and cost about 100 CPU-seconds of a CPU-bound session.

Course runs on one Docker Engine take turns (`runner.engine_turn`: local names such as
`hello-app:v1` are global on a daemon); `nbval_docker` and `habits_docker` start together and
prove it by passing side by side. The built-in engine's runs need no turn.

The runs start when the session starts (tests/conftest.py, in the process that drives the
session: pytest-xdist's controller, or pytest itself), in the background, each as its own
process whose output goes to a file and whose exit code is written next to it; any worker's
tests read them (`attach`), and the tests that need them are collected last. Where they were not
started that way (a run filtered with -k/-m, or of single files), the fixture starts them itself.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WAITED = "waiting for another course run"  # what runner.engine_turn prints while it waits
ENV = "TESTS_COURSE_RUNS"  # the folder of the session's runs (set for pytest-xdist's workers)
MANIFEST = "runs.json"
USERS = "course_runs"  # the fixture's name: tests that use it are collected last

# Runs one course execution: output to a file, then the exit code, written last (atomically) so
# a reader that sees it sees everything.
_WRAPPER = r"""
import json, os, resource, subprocess, sys, time
spec = json.loads(sys.argv[1])
t0 = time.monotonic()
with open(spec["log"], "wb") as log:
    code = subprocess.run(spec["argv"], cwd=spec["cwd"], env=spec["env"], stdout=log,
                          stderr=subprocess.STDOUT).returncode
ru = resource.getrusage(resource.RUSAGE_CHILDREN)  # the run's processes (not its detached lab)
with open(spec["rc"] + ".seconds", "w") as fh:
    fh.write(f"{time.monotonic() - t0:.0f}s (cpu {ru.ru_utime + ru.ru_stime:.0f}s)")
with open(spec["rc"] + ".part", "w") as fh:
    fh.write(str(code))
os.replace(spec["rc"] + ".part", spec["rc"])
"""


def clean_env(**extra: str) -> dict[str, str]:
    """A learner's shell: no labkit, AWS or docker-config settings of the caller (nor the
    session's own), this venv's `labkit` and `aws` on PATH."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LABKIT_", "AWS_", "PYTEST_")) and k != ENV
           and k not in ("DOCKER_CONFIG", "REGISTRY")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(extra)
    return env


def course_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "labkit", "course", "run", *args]


def course(*args: str, env: dict[str, str] | None = None, timeout: int = 900
           ) -> subprocess.CompletedProcess[str]:
    """`labkit course run ARGS` to completion."""
    return subprocess.run(course_argv(*args), cwd=ROOT, env=env or clean_env(),
                          capture_output=True, text=True, timeout=timeout)


def habits_argv(engine: str) -> list[str]:
    """The learner's habits on `engine` (test_course_habits.play), its result as one line."""
    code = ("import json, sys\n"
            "from tests.integration.course.test_course_habits import play\n"
            "try:\n    out = play(sys.argv[1])\nexcept AssertionError as e:\n"
            "    out = {'broke': str(e)}\nprint(HABITS + json.dumps(out))\n")
    return [sys.executable, "-c", f"HABITS = {HABITS!r}\n" + code, engine]


HABITS = "HABITS "  # the line of a habits run's output that holds its result
SOLVED = ("00-setup", "01-create-repository")  # the notebooks of the solved `course run`


def nbval_argv() -> list[str]:
    """`pytest --nbval notebooks` as its own session (-n 0: one process, a notebook's cells in
    order in one kernel; no cache written into the checkout)."""
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
            "--nbval", "notebooks"]


@dataclass
class Run:
    """One course execution, started in the background by `start_all`."""

    name: str
    argv: list[str]
    log: Path
    rc: Path
    out: Path | None = None  # --out: the executed notebooks

    def wait(self, timeout: float = 2400) -> int:
        """The run's exit code, once it has one."""
        deadline = time.monotonic() + timeout
        while not self.rc.exists():
            assert time.monotonic() < deadline, f"{self.name} did not end in {timeout:.0f}s"
            time.sleep(0.5)
        return int(self.rc.read_text())

    @property
    def output(self) -> str:
        self.wait()
        return self.log.read_text(errors="replace")

    def passed(self, notebooks: int) -> str:
        """The run's output, after checking it passed every notebook (the failure says why)."""
        code, text = self.wait(), self.output
        assert code == 0, f"{self.name} failed:\n{text[-6000:]}"
        if self.argv[3:5] == ["course", "run"]:
            assert f"{notebooks} passed, 0 failed" in text, text[-3000:]
        else:  # nbval: pytest's summary line
            tail = text.strip().splitlines()[-1]
            assert " passed" in tail and "failed" not in tail and "error" not in tail, text[-6000:]
        return text

    def habits(self) -> dict[str, Any]:
        """A habits run's result (test_course_habits.play), or what it printed if it had none."""
        self.wait()
        text = self.output
        line = next((ln for ln in text.splitlines() if ln.startswith(HABITS)), None)
        assert line is not None, f"{self.name} ended without a result:\n{text[-6000:]}"
        return dict(json.loads(line[len(HABITS):]))


def plan(root: Path, docker: bool) -> list[Run]:
    """The session's runs, their files under `root` (the Docker pair only if `docker`)."""
    def run(name: str, key: str, argv: list[str], **kw: Any) -> Run:
        return Run(name, argv, root / f"{key}.log", root / f"{key}.rc", **kw)

    out = root / "solved-builtin"
    only = [a for name in SOLVED for a in ("--only", name)]
    runs = [run("labkit course run --engine builtin --solutions " + " ".join(only),
                "solved-builtin",
                course_argv("--engine", "builtin", "--solutions", *only, "--out", str(out)),
                out=out),
            run("pytest --nbval notebooks (built-in engine)", "nbval-builtin", nbval_argv()),
            run("learner habits (built-in engine)", "habits-builtin", habits_argv("builtin"))]
    if docker:
        runs += [run("pytest --nbval notebooks (Docker Engine)", "nbval-docker", nbval_argv()),
                 run("learner habits (Docker Engine)", "habits-docker", habits_argv("docker"))]
    return runs


def _env_of(run: Run, root: Path) -> dict[str, str]:
    if "--nbval" in run.argv:
        return clean_env(LABKIT_ENGINE="docker" if "Docker" in run.name else "builtin")
    # habits: each learner's own docker config (a run makes a private one when none is set):
    # two processes writing one config.json lose each other's logins
    return clean_env()


def start_all(root: Path, docker: bool) -> list[Run]:
    """Start every run in the background; the manifest lets any process `attach`."""
    root.mkdir(parents=True, exist_ok=True)
    runs = plan(root, docker)
    pids = []
    for run in runs:
        spec = {"argv": run.argv, "cwd": str(ROOT), "env": _env_of(run, root),
                "log": str(run.log), "rc": str(run.rc)}
        # its own process group: stop_all ends the run and the processes it started
        proc = subprocess.Popen([sys.executable, "-c", _WRAPPER, json.dumps(spec)], cwd=ROOT,
                                env=spec["env"], start_new_session=True,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        pids.append(proc.pid)
    manifest = {"runs": [{k: str(v) if isinstance(v, Path) else v
                          for k, v in vars(r).items()} for r in runs], "pids": pids}
    (root / MANIFEST).write_text(json.dumps(manifest))
    return runs


def attach(root: Path) -> list[Run]:
    """The runs `start_all` started under `root` (possibly in another process)."""
    manifest = json.loads((root / MANIFEST).read_text())
    paths = ("log", "rc", "out")
    return [Run(**{k: Path(v) if k in paths and v is not None else v for k, v in r.items()})
            for r in manifest["runs"]]


def summary(root: Path) -> list[str]:
    """One line per run: how long it took and how it ended (the session's slowest part)."""
    lines = []
    for run in attach(root):
        seconds = run.rc.with_name(run.rc.name + ".seconds")
        if run.rc.exists() and seconds.exists():
            lines.append(f"{seconds.read_text():>16}  exit {run.rc.read_text()}  {run.name}")
        else:
            lines.append(f"    -   not finished  {run.name}")
    return lines


def stop_all(root: Path) -> None:
    """End what is still running (an interrupted session)."""
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError):
        return
    for pid, run in zip(manifest["pids"], attach(root), strict=True):
        if not run.rc.exists():  # still running: its process group, which start_all created
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
