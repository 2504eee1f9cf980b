"""Start the lab's process detached, and wait until it says it listens.

Two ways to start, one way to report readiness:
- portable (every OS): a fresh interpreter, `python -m labkit.lab.process.main ...`, in a new session
  on POSIX, or in a new process group with no console on Windows.
- fork (POSIX, the default of the single-threaded `labkit lab up`): the CLI's interpreter forks,
  so the lab skips a second interpreter start. `LABKIT_START=portable` turns it off, which the
  test suite does to keep the portable path exercised on Linux.
Either way the lab writes `HOME/lab.json` (pid, port) atomically once its socket listens, and
the parent waits for that file: no pipe or inherited descriptor that Windows would not have.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import pids

START_ENV = "LABKIT_START"
METHODS = ("fork", "portable")
SERVE_MODULE = "labkit.lab.process.main"  # the lab's entry point (its main(argv)), for both paths
_POLL = 0.01  # seconds between looks at lab.json: a few syscalls each, nothing on the wire


def method(fork_allowed: bool) -> str:
    """The start method: fork only where the caller allows it (no threads), POSIX offers it and
    LABKIT_START does not ask for the portable path."""
    asked = os.environ.get(START_ENV, "").strip().lower()
    if asked and asked not in METHODS:
        raise ValueError(f"{START_ENV}={asked!r}: use one of {', '.join(METHODS)}")
    if fork_allowed and hasattr(os, "fork") and asked != "portable":
        return "fork"
    return "portable"


@dataclass
class Child:
    """The process just started: its PID and how to learn whether it already exited."""

    pid: int
    exit_code: Callable[[], int | None]
    terminate: Callable[[], None]


def spawn(argv: list[str], log_path: Path, how: str) -> Child:
    """Start `serve.main(argv)` detached, its output appended to `log_path`."""
    if how == "fork":
        return _fork(argv, log_path)
    return _popen(argv, log_path)


def _popen(argv: list[str], log_path: Path) -> Child:
    import subprocess  # not on the fork path, which `labkit lab up` takes on POSIX

    detach: dict[str, Any]
    if os.name == "nt":
        detach = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
                  | subprocess.DETACHED_PROCESS}  # type: ignore[attr-defined]
    else:
        detach = {"start_new_session": True}
    with open(log_path, "ab") as logf:
        proc = subprocess.Popen([sys.executable, "-m", SERVE_MODULE, *argv], stdout=logf,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **detach)
    return Child(proc.pid, proc.poll, proc.terminate)


def _fork(argv: list[str], log_path: Path) -> Child:
    import signal

    pid = os.fork()
    if pid:
        def exit_code() -> int | None:
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                return None if pids.alive(pid) else -1
            return os.waitstatus_to_exitcode(status) if done else None

        return Child(pid, exit_code, lambda: os.kill(pid, signal.SIGTERM))
    # the child: leave the terminal's session, log to the lab's log, serve, never return
    code = 1
    try:
        os.setsid()
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        import importlib

        code = importlib.import_module(SERVE_MODULE).main(argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:  # noqa: BLE001 - the child must never return into the CLI
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def wait_ready(state_file: Path, child: Child, timeout: float) -> dict[str, Any] | int | None:
    """The lab's `lab.json` once it appears; the child's exit code if it died first; None if
    neither happened within `timeout` seconds. The caller removed any stale lab.json first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return json.loads(state_file.read_text())
        except (OSError, ValueError):
            pass  # not yet written (the lab replaces it atomically, so never half-written)
        code = child.exit_code()
        if code is not None:
            return code
        if time.monotonic() >= deadline:
            return None
        time.sleep(_POLL)
