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
from typing import Any

from ...lab.process import free_port
from ..state import NOTEBOOKS

ISOLATION_VARS = ("LABKIT_HOME", "LABKIT_PORT", "LABKIT_PROGRESS", "LABKIT_ENGINE",
                  "LABKIT_ENGINE_HOME", "LABKIT_TARGET", "LABKIT_REGION", "LABKIT_SOLUTIONS",
                  "DOCKER_CONFIG", "LABKIT_LIFECYCLE_INTERVAL", "LABKIT_LAB_OWNER")


PACKAGE = Path(__file__).resolve().parents[1]  # labkit/course: where a wheel holds notebooks/


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
             port: int | None = None, solutions: bool = False,
             turn: bool = True) -> Iterator[Path]:
    """Point every labkit call (and every kernel started meanwhile) at a private lab.

    Kernels inherit os.environ, so setting it here is what isolates them: a private lab (its
    own home and port, so its registry address `127.0.0.1:PORT` is its own), and a private
    docker config (DOCKER_CONFIG, unless the caller chose one) so a headless run never writes
    logins into the user's ~/.docker. With the Docker Engine, runs on one daemon take turns
    (see `engine_turn`), unless `turn` is False: a caller whose image names are its own (the
    doctor's round trip) needs none. On exit the lab is stopped, course images named after its
    registry are removed from the engine, and a temp home is deleted. A temp home's lab is
    owned by this process (LABKIT_LAB_OWNER): killed before it could clean up, the lab still
    stops.
    """
    saved = {k: os.environ.get(k) for k in ISOLATION_VARS}
    temp = home is None
    root = Path(tempfile.mkdtemp(prefix="labkit-course-")) if temp else Path(home).resolve()
    os.environ["LABKIT_HOME"] = str(root)
    os.environ["LABKIT_PORT"] = str(port or free_port())
    os.environ["LABKIT_PROGRESS"] = "0"
    # 05b applies its lifecycle policy with `labkit lab lifecycle run`: the lab's own 60 s
    # schedule could expire the image first and change that cell's output, so it is off here
    os.environ["LABKIT_LIFECYCLE_INTERVAL"] = "0"
    os.environ["LABKIT_TARGET"] = "lab"
    os.environ.pop("LABKIT_ENGINE_HOME", None)
    os.environ.pop("LABKIT_REGION", None)  # the committed outputs name the default region
    if not saved["DOCKER_CONFIG"]:
        os.environ["DOCKER_CONFIG"] = str(root / "docker-config")
    if temp:  # the private lab ends with this process, even when it is killed (a `--home`
        os.environ["LABKIT_LAB_OWNER"] = str(os.getpid())  # lab is kept on purpose)
    else:
        os.environ.pop("LABKIT_LAB_OWNER", None)
    if solutions:
        os.environ["LABKIT_SOLUTIONS"] = "1"
    else:
        os.environ.pop("LABKIT_SOLUTIONS", None)
    if engine:
        os.environ["LABKIT_ENGINE"] = engine
    try:
        if turn:
            with engine_turn():
                yield root
        else:
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


@contextmanager
def engine_turn(wait: float = 1800.0) -> Iterator[None]:
    """With the Docker Engine, hold a lock for this daemon while a course run uses it.

    Why runs take turns instead of running side by side: the course teaches the names a learner
    types, `docker build -t hello-app:v1`, `docker image rm hello-app:v1`, and local image names
    are global on a daemon. Two runs at once would retag and remove each other's `hello-app:v1`
    between a `build` and the next `tag`. Everything else is already per run: the registry
    address (its own port), the app layers (the build context is stamped with the lab home, see
    `state.context`), the docker config. The lock is per daemon (DOCKER_HOST), advisory, and
    released when the run ends or its process dies. The built-in engine keeps its store in
    the run's own home and needs no turn.
    """
    from ...engines import select

    try:
        name = select().name
    except Exception:  # noqa: BLE001 - no engine at all: the notebooks will say so
        name = ""
    if name != "docker":
        yield
        return
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here; runs there are one per machine
        yield
        return
    import hashlib

    daemon = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    key = hashlib.sha256(daemon.encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"labkit-course-docker-{key}.lock"
    with open(path, "a+") as fh:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    print(f"waiting for another course run on this Docker Engine ({daemon})",
                          flush=True)
                    told = True
                if time.monotonic() > deadline:
                    raise TimeoutError(f"another course run held {path} for {wait:.0f}s") from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _teardown(home: Path) -> None:
    """Stop the private lab and forget the engine's images named after its registry."""
    from ...lab import process

    lab = process.running(home)
    if lab is not None:
        try:
            from ...engines import select
            from ..state import registry_refs

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


def run_notebook(path: Path, kernel: str = "python3", timeout: int = 300,
                 solutions: bool = False) -> tuple[Result, object]:
    """Execute one notebook in a fresh kernel; return the result and the executed notebook.

    With `solutions`, each folded solution's code runs right before its check (see
    `solutions.unfold`); such a run is never written back into the committed notebooks.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    if solutions:
        from .solutions import unfold

        unfold(nb)
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


def published(nb: Any) -> Any:
    """The executed notebook as it is committed: each cell's consecutive stream outputs joined
    into one (a command's output arrives in chunks; Jupyter shows them as one text, and nbval
    joins them before comparing), and the run's private docker config named as learners know
    it: `docker login` prints where it stored the password, in a headless run DOCKER_CONFIG in
    the run's temp home (`isolated`), in a learner's notebook and terminal
    `~/.docker/config.json`, which the notebooks' text names."""
    home = os.environ.get("LABKIT_HOME")
    private = str(Path(home) / "docker-config") if home else None
    for cell in nb.cells:
        joined: list[Any] = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                if private and private in out.get("text", ""):
                    out["text"] = out["text"].replace(private, "~/.docker")
                last = joined[-1] if joined else None
                if last is not None and last.get("output_type") == "stream" \
                        and last.get("name") == out.get("name"):
                    last["text"] += out["text"]
                    continue
            joined.append(out)
        if "outputs" in cell:
            cell["outputs"] = joined
    return nb


def select(only: list[str] | None) -> list[str]:
    """The notebooks to run, in course order (`--only 03` or `--only 03-tag`)."""
    if not only:
        return list(NOTEBOOKS)
    from ..state import index

    picked = sorted({index(x) for x in only})
    return [NOTEBOOKS[i] for i in picked]


def run(names: list[str], src: Path, out: Path | None, update: bool = False,
        kernel: str = "python3", timeout: int = 300, echo: bool = True,
        solutions: bool = False) -> list[Result]:
    """Run `names` from `src` in order; executed copies go to `out`, and with `update` back
    into `src` (only when the notebook passed: failed outputs are never committed, nor a run
    with the solutions unfolded: learners get unsolved exercises)."""
    import nbformat

    if update and solutions:
        raise ValueError("--update writes the learner's notebooks: they keep their exercises "
                         "unsolved, so it cannot be combined with --solutions")
    results = []
    for name in names:
        path = src / f"{name}.ipynb"
        result, nb = run_notebook(path, kernel, timeout, solutions=solutions)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, out / path.name)
        if update and result.ok:
            nbformat.write(published(nb), path)
        results.append(result)
        if echo:
            print(result.line(), flush=True)
    return results
