"""The course's `%%bash`: a cell reads exactly as the command typed in a terminal, bash runs it,
and the cell shows the command's own output as it comes.

What differs from IPython's own `%%bash` is what happens when the command fails. IPython raises
`CalledProcessError` and shows a Python traceback, which tells a learner nothing about docker or
ECR. Here a failed command's output is followed by the explanation (`labkit.course.failures`)
and the cell ends as failed, without a traceback, so "Run All" stops there as it should. A
failure that only says the step was already done (the repository exists, the image is already
removed) is said as such and the cell succeeds, so running a notebook again goes on.

`course.prepare()` (every notebook's first cell) installs it in the kernel; `%%bash` with
options of IPython's (`--out`, `--bg`, ...) still goes to IPython's magic.
"""

from __future__ import annotations

import codecs
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from . import explained as _explained  # noqa: F401 - registers the lab's explainer
from . import failures

KEEP = 64 * 1024  # the output's tail kept for the explanation (the screen got all of it)


@dataclass
class Ran:
    """A finished cell: its exit status and its output (stdout and stderr, interleaved)."""

    code: int
    output: str


class CommandFailed(Exception):
    """A `%%bash` cell whose command failed: IPython shows these lines, not a traceback."""

    def __init__(self, code: int, lines: list[str]):
        super().__init__(f"the command failed (exit status {code})")
        self.code, self.lines = code, lines

    def _render_traceback_(self) -> list[str]:
        return [str(self), *self.lines]


class _Tail:
    """What the command printed, kept up to KEEP characters from the end."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.lock = threading.Lock()

    def add(self, text: str) -> None:
        with self.lock:
            self.parts.append(text)
            self.size += len(text)
            while self.size > KEEP and len(self.parts) > 1:
                self.size -= len(self.parts.pop(0))

    def text(self) -> str:
        with self.lock:
            return "".join(self.parts)


def _pump(fd: IO[bytes], write: Callable[[str], Any], flush: Callable[[], Any], tail: _Tail) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while True:
        chunk = fd.read1(4096) if hasattr(fd, "read1") else fd.read(4096)
        text = decoder.decode(chunk or b"", final=not chunk)
        if text:
            write(text)
            flush()
            tail.add(text)
        if not chunk:
            return


def run(cell: str, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> Ran:
    """Run `cell` with bash (the cell as bash's standard input, as IPython's `%%bash` does),
    streaming its output to `stdout`/`stderr` (default: this process's, the cell's output)."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    bash = shutil.which("bash")
    if bash is None:
        raise CommandFailed(127, ["bash is not installed here: the course's command cells need "
                                  "it (on Windows: Git Bash or WSL)"])
    p = subprocess.Popen([bash], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=os.name != "nt")
    tail = _Tail()
    pumps = [threading.Thread(target=_pump, args=(p.stdout, out.write, out.flush, tail), daemon=True),
             threading.Thread(target=_pump, args=(p.stderr, err.write, err.flush, tail), daemon=True)]
    for t in pumps:
        t.start()
    try:
        assert p.stdin is not None
        try:
            p.stdin.write(cell.encode("utf-8", "replace") + (b"" if cell.endswith("\n") else b"\n"))
            p.stdin.close()
        except BrokenPipeError:  # bash ended before reading all of it (an `exit` early on)
            pass
        code = p.wait()
    except KeyboardInterrupt:  # the stop button: stop the command as Ctrl-C in a terminal does
        _interrupt(p)
        raise
    finally:
        for t in pumps:
            t.join(timeout=5)
    return Ran(code, tail.text())


def _interrupt(p: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL if os.name != "nt" else None):
        if sig is None or p.poll() is not None:
            return
        try:
            if os.name != "nt":
                os.killpg(p.pid, sig)
            else:
                p.send_signal(sig)
            p.wait(timeout=2)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            continue


class Magic:
    """The `%%bash` cell magic of one kernel, bound to the notebook's course (for the lab)."""

    def __init__(self, course: Any, fallback: Callable[[str, str], Any] | None):
        self.course = course
        self.fallback = fallback

    def __call__(self, line: str, cell: str) -> None:
        if line.strip() and self.fallback is not None:  # IPython's options: IPython's magic
            return self.fallback(line, cell)
        since = _mark(self.course)
        ran = run(cell)
        if ran.code == 0:
            return None
        said = failures.explain(failures.Failure(cell, ran.output, ran.code, self.course, since))
        if said.done:
            print("\n".join(said.lines), flush=True)
            return None
        raise CommandFailed(ran.code, said.lines)


def _mark(course: Any) -> int | None:
    """The lab's trace position before the command (None without a lab, or if it does not
    answer: the command itself will say what is wrong, e.g. after `labkit lab down`)."""
    if course is None:
        return None
    try:
        return int(course.trace_mark())
    except Exception:  # noqa: BLE001 - never let the explanation's bookkeeping fail a cell
        return None


def install(course: Any) -> bool:
    """Make `%%bash` in this kernel the course's (a no-op outside IPython); True if installed."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    cells = shell.magics_manager.magics.get("cell", {})
    current = cells.get("bash")
    fallback = current.fallback if isinstance(current, Magic) else current
    shell.register_magic_function(Magic(course, fallback), magic_kind="cell", magic_name="bash")
    return True
