"""Learner habits, driven for real: notebooks run with nbclient in real kernels against one lab,
the way a person uses Jupyter (Run All twice, Restart & Run All, out of order, after their own
terminal work), and terminal work typed with the real CLIs after `eval "$(labkit lab env)"`.

A `Session` is one lab (`runner.isolated`) and one engine; `session.play(steps)` runs a
sequence of steps and raises `HabitBroke` naming the step, the run, the cell and what the cell
showed. Step notation, used in the sequences the tests declare:

    "04"       the notebook in a fresh kernel (opened, or Restart & Run All)
    "04+"      Run All again in the kernel of the step before (which must be the same notebook),
               this time doing the exercises: each folded solution runs right after its
               markdown and the checks are strict (LABKIT_SOLUTIONS=1, as `labkit course run
               --solutions`), so every exercise is proven solvable after a first Run All
    "T:name"   a terminal script from TERMINAL, with the real docker (or the built-in one that
               `labkit lab env` puts first on PATH) and the AWS CLI
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from labkit.course.state import NOTEBOOKS, index
from labkit.course.tools import solutions
from labkit.course.tools.runner import isolated

ROOT = Path(__file__).resolve().parents[3]
SRC = ROOT / "notebooks"
BIN = str(Path(sys.executable).parent)  # `labkit` and `aws` of this install
ANSI = re.compile(r"\x1b\[[0-9;]*m")

# The learner's own terminal work, between notebooks. Each script starts as a learner's
# terminal does: `eval "$(labkit lab env)"` (which, with no Docker Engine or with
# LABKIT_ENGINE=builtin, puts the built-in `docker` first on PATH and says so).
TERMINAL = {
    # extra tags and images, a second push, a deleted repository
    "extras": r"""
        eval "$(labkit lab env)"
        for v in v1 v2; do
            docker image inspect hello-app:$v >/dev/null 2>&1 \
                || docker build -q -t hello-app:$v "$(labkit sample path $v)"
        done
        docker tag hello-app:v1 $REGISTRY/hello-app:mine       # my own tag for v1 ...
        docker push $REGISTRY/hello-app:mine                     # ... pushed
        docker push $REGISTRY/hello-app:v1                       # a second push of v1
        docker tag hello-app:v2 my-hello:latest                  # a local name of my own
        ctx=$(mktemp -d)
        printf 'FROM labkit/base:1.0\nLABEL me="mine"\n' > "$ctx/Dockerfile"
        docker build -q -t my-tool:1 "$ctx"                      # an image of my own
        aws ecr delete-repository --repository-name hello-app --force >/dev/null
        aws ecr delete-repository --repository-name notes-app --force >/dev/null 2>&1 || true
        echo "terminal work done"
    """,
}


class HabitBroke(AssertionError):
    """A notebook failed in a sequence of learner habits."""


def _ref(step: str) -> str:
    """`04` -> `04-push`."""
    return NOTEBOOKS[index(step)]


def _text(outputs: list[Any]) -> str:
    """What the outputs show, as one text (streams as they came, then results and errors)."""
    parts = []
    for o in outputs:
        if o.get("output_type") == "stream":
            parts.append(str(o.get("text", "")))
        elif o.get("output_type") == "error":
            parts.append("\n".join([f"{o.get('ename')}: {o.get('evalue')}",
                                    *(ANSI.sub("", t) for t in o.get("traceback", []))]) + "\n")
        else:
            parts.append(str(o.get("data", {}).get("text/plain", "")) + "\n")
    return "".join(parts)


@dataclass
class Run:
    """One Run All of a notebook: what each code cell showed (cell index -> text)."""

    step: str
    notebook: str
    again: bool  # a second Run All in the same kernel, with the exercises' solutions
    shown: dict[int, str] = field(default_factory=dict)
    solved: int = 0  # solution code cells that ran (and passed)

    def output(self, contains: str) -> str:
        """The first cell's output whose source contains `contains`."""
        nb = nbformat.read(SRC / f"{self.notebook}.ipynb", as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and contains in cell.source:
                return self.shown.get(i, "")
        raise KeyError(f"{self.notebook} has no code cell with {contains!r}")


@dataclass
class Session:
    """One engine, one lab: the state a learner's habits accumulate."""

    engine: str
    home: Path
    runs: list[Run] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    _client: NotebookClient | None = None
    _nb: Any = None
    _kernel: Any = None

    def play(self, steps: list[str], label: str, skip: str = "") -> list[Run]:
        """Run `steps` in order (see the module's notation); the time goes under `label`.
        `skip`: leave out the code cells whose source holds it (a learner skipping a step)."""
        t0 = time.monotonic()
        done: list[Run] = []
        try:
            for position, step in enumerate(steps):
                where = f"{label}, step {position + 1} of {len(steps)} ({' '.join(steps)})"
                if step.startswith("T:"):
                    self._close()
                    self.terminal(step[2:], where)
                    continue
                again = step.endswith("+")
                name = _ref(step.rstrip("+"))
                if again:
                    if self._nb is None or self._nb.metadata.get("habits_name") != name:
                        raise ValueError(f"{step}: '+' repeats the notebook just run ({where})")
                else:
                    self._open(name)
                done.append(self._run_all(step, name, again, where, skip))
        finally:
            self._close()
            self.seconds[label] = self.seconds.get(label, 0.0) + time.monotonic() - t0
        self.runs += done
        return done

    def _open(self, name: str) -> None:
        self._close()
        nb = nbformat.read(SRC / f"{name}.ipynb", as_version=4)
        nb.metadata["habits_name"] = name
        client = NotebookClient(nb, timeout=240, kernel_name="python3", record_timing=False,
                                resources={"metadata": {"path": str(SRC)}})
        self._kernel = client.setup_kernel()
        self._kernel.__enter__()
        self._client, self._nb = client, nb

    def _close(self) -> None:
        if self._kernel is not None:
            kernel, self._kernel, self._client, self._nb = self._kernel, None, None, None
            kernel.__exit__(None, None, None)

    def _run_all(self, step: str, name: str, again: bool, where: str, skip: str = "") -> Run:
        assert self._client is not None and self._nb is not None
        run = Run(step, name, again)
        cells = list(self._nb.cells)  # the notebook's own (solution cells go after them)
        if again:
            self._extra("import os\nos.environ['LABKIT_SOLUTIONS'] = '1'", where)
        try:
            for i, cell in enumerate(cells):
                if again and solutions.is_solution(cell):
                    for lang, code in solutions.blocks(cell.source):
                        self._extra(solutions.as_cell_source(lang, code), where, name)
                        run.solved += 1
                if cell.cell_type != "code" or (skip and skip in cell.source):
                    continue
                cell.outputs = []
                try:
                    self._client.execute_cell(cell, i)
                except CellExecutionError:
                    raise HabitBroke(
                        f"[{self.engine} engine] {name} failed on "
                        f"{'its second Run All (with the solutions)' if again else 'Run All'}"
                        f" at cell {i} ({where}):\n--- cell ---\n{cell.source}\n--- it showed ---\n"
                        f"{_text(cell.outputs)[-3000:]}") from None
                run.shown[i] = _text(cell.outputs)
        finally:
            if again:
                self._extra("import os\nos.environ.pop('LABKIT_SOLUTIONS', None)", where)
            self._nb.cells = cells
        return run

    def _extra(self, source: str, where: str, name: str = "") -> None:
        """Run a cell that is not the notebook's (a solution, the solutions switch) in its kernel,
        as the notebook's last cell (nbclient stores each executed cell at its index)."""
        assert self._client is not None and self._nb is not None
        cell = nbformat.v4.new_code_cell(source)
        self._nb.cells.append(cell)
        try:
            self._client.execute_cell(cell, len(self._nb.cells) - 1)
        except CellExecutionError:
            raise HabitBroke(
                f"[{self.engine} engine] {name or 'the kernel'}: a solution failed on the second "
                f"Run All ({where}):\n--- cell ---\n{source}\n--- it showed ---\n"
                f"{_text(cell.outputs)[-3000:]}") from None
        finally:
            self._nb.cells.pop()

    def cells(self, nb: Any) -> list[tuple[str, str]]:
        """Run every code cell of `nb` (a notebook the test made) in a fresh kernel, going on
        after failures: each cell's ("ok" or the error's name, what it showed)."""
        self._close()
        client = NotebookClient(nb, timeout=240, kernel_name="python3", record_timing=False,
                                resources={"metadata": {"path": str(SRC)}})
        out = []
        with client.setup_kernel():
            for i, cell in enumerate(nb.cells):
                try:
                    client.execute_cell(cell, i)
                    status = "ok"
                except CellExecutionError as e:
                    status = e.ename
                out.append((status, _text(cell.outputs)))
        return out

    def terminal(self, script: str, where: str = "") -> str:
        """Run a TERMINAL script in bash, as the learner's terminal would; return its output."""
        env = dict(os.environ)
        env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
        r = subprocess.run(["bash", "-c", TERMINAL[script]], env=env, capture_output=True,
                           text=True, timeout=240, cwd=self.home)
        if r.returncode != 0:
            raise HabitBroke(f"[{self.engine} engine] terminal work {script!r} failed ({where}):\n"
                             f"{r.stdout}\n{r.stderr}")
        return r.stdout + r.stderr


@contextmanager
def session(engine: str) -> Iterator[Session]:
    """A fresh lab for `engine` (its own home, port, docker config), torn down afterwards."""
    with isolated(engine=engine) as home:
        yield Session(engine, home)
