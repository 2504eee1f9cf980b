"""The course's notebooks executed once per test session, for several tests' assertions.

A whole course run costs minutes (a kernel per notebook, an `aws` process per command, real
builds and pushes), so each set of executions runs once and serves every test that asks about
it (see tests/integration/conftest.py `course_runs`):

- `solved_docker`: `labkit course run --engine docker --solutions --home H` (every exercise
  solvable with the Docker Engine; the IAM actions the course calls; afterwards the terminal
  shares its login, and a rerun meets its images on the daemon);
- `nbval_docker`: `pytest --nbval notebooks` with LABKIT_ENGINE=docker (the committed outputs
  validate with the Docker Engine), started together with `solved_docker`: course runs on one
  daemon take turns (`runner.engine_turn`), which the two prove by passing side by side;
- `solved_builtin`: `labkit course run --engine builtin --solutions` (every exercise solvable
  with the built-in engine; the run's one line per notebook; its temp home removed), and
- `nbval_builtin`: `pytest --nbval notebooks` with LABKIT_ENGINE=builtin (the README's
  `pytest notebooks`), both side by side with the docker runs (the built-in engine takes no
  turn on a daemon).

Each runs as its own process with its output in a file (never a pipe that a long traceback
could fill while the other run waits for its turn).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WAITED = "waiting for another course run"  # what runner.engine_turn prints while it waits


def clean_env(**extra: str) -> dict[str, str]:
    """A learner's shell: no labkit, AWS or docker-config settings of the caller; this venv's
    `labkit` and `aws` on PATH."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LABKIT_", "AWS_")) and k not in ("DOCKER_CONFIG", "REGISTRY")}
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


def lab_down(home: Path) -> None:
    subprocess.run([sys.executable, "-m", "labkit", "lab", "down", "--home", str(home)],
                   env=clean_env(), capture_output=True, timeout=60)


@dataclass
class Run:
    """One course execution started in the background; `wait()` gives its exit code."""

    name: str
    argv: list[str]
    log: Path
    out: Path | None = None  # --out: the executed notebooks
    home: Path | None = None  # --home: kept, with its lab, until the session ends
    env: dict[str, str] = field(default_factory=dict)
    started: float = 0.0
    seconds: float = 0.0
    returncode: int | None = None
    _proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Run:
        self.started = time.monotonic()
        with open(self.log, "wb") as log:
            self._proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log,
                                          stderr=subprocess.STDOUT)
        return self

    def wait(self, timeout: float = 1800) -> int:
        if self.returncode is None:
            assert self._proc is not None, f"{self.name} was never started"
            try:
                self.returncode = self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self.returncode = self._proc.wait()
            self.seconds = time.monotonic() - self.started
        return self.returncode

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    @property
    def output(self) -> str:
        self.wait()
        return self.log.read_text(errors="replace")

    def passed(self, notebooks: int) -> str:
        """The run's output, after checking it passed every notebook (the failure says why)."""
        text = self.output
        assert self.returncode == 0, f"{self.name} failed:\n{text[-6000:]}"
        if self.argv[3:5] == ["course", "run"]:
            assert f"{notebooks} passed, 0 failed" in text, text[-3000:]
        else:  # nbval: pytest's summary line
            tail = text.strip().splitlines()[-1]
            assert " passed" in tail and "failed" not in tail and "error" not in tail, text[-6000:]
        return text


def nbval_argv() -> list[str]:
    """`pytest --nbval notebooks` as its own session (-n 0: one process, a notebook's cells in
    order in one kernel; no cache written into the checkout)."""
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
            "--nbval", "notebooks"]
