"""The learner's copy of the course, opened in JupyterLab on loopback (`labkit course open`).

JupyterLab runs as a child process bound to 127.0.0.1 with the workspace as its root and a
fresh random token (given to it through JUPYTER_TOKEN, so it never shows in `ps`); the command
waits until JupyterLab answers, prints the URL to open (with that token, as `jupyter lab`
itself does), opens the browser unless --no-browser, and stops JupyterLab on Ctrl-C.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..state import NOTEBOOKS

DEFAULT_PORT = 8888
HOST = "127.0.0.1"
READY_TIMEOUT = 120.0
LOG_NAME = ".labkit-jupyterlab.log"


class OpenError(Exception):
    """Why JupyterLab could not be opened, worded for the learner."""


class PortTaken(OpenError):
    """The port was free when chosen but taken before JupyterLab could listen on it."""


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def choose_port(asked: int | None) -> int:
    """The asked port (an error if taken), else 8888, else any free loopback port."""
    if asked is not None:
        if not _port_free(asked):
            raise OpenError(f"port {asked} on {HOST} is already in use (another JupyterLab, or "
                            f"another program): pass a different --port, or leave --port out "
                            f"to pick a free one")
        return asked
    if _port_free(DEFAULT_PORT):
        return DEFAULT_PORT
    from ...lab.process import free_port

    return free_port(HOST)


def require_jupyterlab() -> None:
    if importlib.util.find_spec("jupyterlab") is None:
        raise OpenError(f"JupyterLab is not installed in this Python ({sys.executable}): "
                        f"reinstall the kit (`pip install labkit` brings it) or "
                        f"`{sys.executable} -m pip install 'jupyterlab>=4.1,<5'`")


@dataclass
class Server:
    """A running JupyterLab: its process, the URL to open, and where it logs."""

    process: subprocess.Popen[bytes]
    base: str
    token: str
    log: Path

    def url(self, path: str = f"notebooks/{NOTEBOOKS[0]}.ipynb") -> str:
        return f"{self.base}/lab/tree/{path}?token={self.token}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(root: Path, port: int, timeout: float = READY_TIMEOUT,
          python: str = sys.executable) -> Server:
    """Start JupyterLab (of `python`) on 127.0.0.1:port with `root` as its root; return once it
    answers."""
    token = secrets.token_hex(24)
    log = root / LOG_NAME
    cmd = [python, "-m", "jupyterlab", "--no-browser", f"--ServerApp.ip={HOST}",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--ServerApp.root_dir={root}",
           # the course is offline: no news feed or update check from the internet
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI run as root; JupyterLab refuses otherwise
    env = {**os.environ, "JUPYTER_TOKEN": token}
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                stdin=subprocess.DEVNULL, cwd=root,
                                start_new_session=True)  # Ctrl-C reaches us; we stop it
    server = Server(proc, f"http://{HOST}:{port}", token, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-8:]
            error = PortTaken if any(f"port {port} is not available" in t for t in tail) \
                else OpenError
            raise error(f"JupyterLab exited (code {proc.returncode}) before answering; "
                            f"the end of {log}:\n  " + "\n  ".join(tail))
        if _answers(f"{server.base}/api/status?token={token}"):
            return server
        time.sleep(0.3)
    server.stop()
    raise OpenError(f"JupyterLab did not answer on {server.base} within {timeout:.0f}s "
                    f"(see {log})")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 - loopback, our own server
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_on_a_free_port(root: Path, port: int, asked: bool, tries: int = 3) -> Server:
    """start(); a port we picked ourselves that someone took meanwhile is picked again."""
    for attempt in range(tries):
        try:
            return start(root, port)
        except PortTaken:
            if asked or attempt == tries - 1:
                raise
            port = choose_port(None)
    raise AssertionError("unreachable")
