"""Run the course's notebooks headless, in order, in an isolated lab (nbclient).

The same isolation (a temp LABKIT_HOME, a free port, progress bars off) is used by
`labkit course run`, by `--update` when it rewrites the committed outputs, and by the nbval
conftest, so committed outputs and validation runs see the same environment.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..lab.process import free_port
from .state import NOTEBOOKS

ISOLATION_VARS = ("LABKIT_HOME", "LABKIT_PORT", "LABKIT_PROGRESS", "LABKIT_ENGINE",
                  "LABKIT_ENGINE_HOME", "LABKIT_TARGET", "LABKIT_REGION")


PACKAGE = Path(__file__).resolve().parent


def _course_folder(name: str) -> Path | None:
    """The course's `name` folder (notebooks, images) shipped inside the installed package (a
    wheel), else the one at the top of a source checkout (an editable install)."""
    for base in (PACKAGE, PACKAGE.parents[1]):
        if (base / name).is_dir():
            return base / name
    return None


def notebooks_dir() -> Path:
    """`notebooks/` in the current directory (a learner's workspace or a checkout), else the
    course installed with the package, else the checkout next to the package."""
    here = Path.cwd() / "notebooks"
    if (here / f"{NOTEBOOKS[0]}.ipynb").exists():
        return here
    found = _course_folder("notebooks")
    if found is not None and (found / f"{NOTEBOOKS[0]}.ipynb").exists():
        return found
    raise FileNotFoundError("the course's notebooks are missing: neither ./notebooks nor the "
                            f"copy installed with labkit ({PACKAGE / 'notebooks'}) exists; "
                            "reinstall labkit, or pass --notebooks DIR")


def images_dir() -> Path | None:
    """The figures the notebooks show (`images/`), installed or in the checkout; None if absent."""
    return _course_folder("images")


@contextmanager
def isolated(engine: str | None = None, home: str | Path | None = None,
             port: int | None = None) -> Iterator[Path]:
    """Point every labkit call (and every kernel started meanwhile) at a private lab.

    Kernels inherit os.environ, so setting it here is what isolates them. On exit the lab is
    stopped, course images named after its registry are removed from the engine, and a temp
    home is deleted.
    """
    saved = {k: os.environ.get(k) for k in ISOLATION_VARS}
    temp = home is None
    root = Path(tempfile.mkdtemp(prefix="labkit-course-")) if temp else Path(home).resolve()
    os.environ["LABKIT_HOME"] = str(root)
    os.environ["LABKIT_PORT"] = str(port or free_port())
    os.environ["LABKIT_PROGRESS"] = "0"
    os.environ["LABKIT_TARGET"] = "lab"
    os.environ.pop("LABKIT_ENGINE_HOME", None)
    os.environ.pop("LABKIT_REGION", None)  # the committed outputs name the default region
    if engine:
        os.environ["LABKIT_ENGINE"] = engine
    try:
        yield root
    finally:
        if temp:
            _teardown(root)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if temp:
            shutil.rmtree(root, ignore_errors=True)


def _teardown(home: Path) -> None:
    """Stop the private lab and forget the engine's images named after its registry."""
    from ..lab import process

    lab = process.running(home)
    if lab is not None:
        try:
            from ..engines import select
            from .state import registry_refs

            engine = select()
            for ref in registry_refs(engine, lab.registry):
                engine.remove(ref)
        except Exception:  # noqa: BLE001 - best effort: the lab must still be stopped
            pass
    process.stop(home)


@dataclass
class Result:
    name: str
    ok: bool
    seconds: float
    error: str = ""

    def line(self) -> str:
        status = "PASS" if self.ok else "FAIL"
        out = f"{status} {self.name:<26} {self.seconds:5.1f}s"
        return f"{out}  {self.error}" if self.error else out


def _first_error(nb: object) -> str:
    for i, cell in enumerate(nb.cells):  # type: ignore[attr-defined]
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                value = str(out.get("evalue", "")).strip().splitlines()
                return f"cell {i}: {out.get('ename')}: {value[0] if value else ''}"
    return ""


def run_notebook(path: Path, kernel: str = "python3", timeout: int = 300
                 ) -> tuple[Result, object]:
    """Execute one notebook in a fresh kernel; return the result and the executed notebook."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel, record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.monotonic()
    error = ""
    log = Path(os.environ.get("LABKIT_HOME") or tempfile.gettempdir()) / "kernels.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        # the kernel's own chatter (ipykernel warnings) goes to a log, not the summary
        with open(log, "ab") as stderr:
            client.execute(stderr=stderr)
    except CellExecutionError as e:
        error = _first_error(nb) or f"{e.ename}: {e.evalue}"
    except (CellTimeoutError, DeadKernelError, RuntimeError, TimeoutError) as e:
        text = str(e).strip().splitlines()
        error = f"{type(e).__name__}: {text[0] if text else ''}"
    return Result(path.stem, not error, time.monotonic() - t0, error), nb


def select(only: list[str] | None) -> list[str]:
    """The notebooks to run, in course order (`--only 03` or `--only 03-tag`)."""
    if not only:
        return list(NOTEBOOKS)
    from .state import index

    picked = sorted({index(x) for x in only})
    return [NOTEBOOKS[i] for i in picked]


def run(names: list[str], src: Path, out: Path | None, update: bool = False,
        kernel: str = "python3", timeout: int = 300, echo: bool = True) -> list[Result]:
    """Run `names` from `src` in order; executed copies go to `out`, and with `update` back
    into `src` (only when the notebook passed: failed outputs are never committed)."""
    import nbformat

    results = []
    for name in names:
        path = src / f"{name}.ipynb"
        result, nb = run_notebook(path, kernel, timeout)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, out / path.name)
        if update and result.ok:
            nbformat.write(nb, path)
        results.append(result)
        if echo:
            print(result.line(), flush=True)
    return results
