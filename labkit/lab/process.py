"""Start, find and stop the lab process: one per LABKIT_HOME, shared by every notebook,
terminal and test that uses that home."""

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

from .. import config

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def exposed_warning(host: str, port: int) -> str:
    """What to shout when the lab is told to listen beyond loopback."""
    return (f"WARNING: the lab listens on {host}:{port}, not only on 127.0.0.1: anyone who can "
            f"reach this machine can reach its registry and AWS API (registry tokens still "
            f"apply). Start it without --host to keep it on loopback.")


class LabError(RuntimeError):
    """The lab could not be started, reached or stopped; the message says what to do."""


@dataclass
class Lab:
    """A running lab: where it listens and how to talk to it."""

    home: Path
    host: str
    port: int
    pid: int
    registry: str  # what docker pushes to: `127.0.0.1:PORT`
    region: str = config.DEFAULT_REGION
    account_id: str = config.LAB_ACCOUNT_ID

    @classmethod
    def from_state(cls, home: Path, state: dict[str, Any]) -> Lab:
        """The lab its `lab.json` describes (the server writes it once it listens)."""
        return cls(home=home, host=state["host"], port=int(state["port"]),
                   pid=int(state["pid"]), registry=state["registry"],
                   region=state.get("region", config.DEFAULT_REGION))

    @property
    def endpoint_url(self) -> str:
        """What the AWS CLI and boto3 use as --endpoint-url."""
        return f"http://{self.registry}"

    def env(self) -> dict[str, str]:
        """The environment after which `aws ecr ...` and `docker ... REGISTRY` reach this lab."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": config.LAB_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": config.LAB_SECRET_KEY,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "LABKIT_REGISTRY": self.registry,
            "LABKIT_HOME": str(self.home),
        }

    def status(self, timeout: float = 2.0) -> dict[str, Any]:
        import requests

        r = requests.get(f"{self.endpoint_url}/_labkit/status", timeout=timeout)
        r.raise_for_status()
        return r.json()

    def trace(self, since: int = 0) -> list[dict[str, Any]]:
        """Registry requests recorded by the lab after sequence number `since`."""
        import requests

        r = requests.get(f"{self.endpoint_url}/_labkit/trace", params={"since": since},
                         timeout=10)
        r.raise_for_status()
        return r.json()["requests"]

    def trace_mark(self) -> int:
        """The current end of the trace: pass it to `trace(since=...)` to see what follows."""
        import requests

        r = requests.get(f"{self.endpoint_url}/_labkit/trace", params={"since": 1 << 62},
                         timeout=10)
        r.raise_for_status()
        return int(r.json()["last"])

    def operations(self) -> dict[str, int]:
        """AWS API operations (CreateRepository, ...) the lab answered, with their counts."""
        import requests

        r = requests.get(f"{self.endpoint_url}/_labkit/operations", timeout=10)
        r.raise_for_status()
        return dict(r.json()["operations"])

    def set_token_ttl(self, seconds: float) -> None:
        """Make new authorization tokens expire after `seconds` (for the expiry exercise)."""
        import requests

        r = requests.post(f"{self.endpoint_url}/_labkit/settings",
                          json={"token_ttl": seconds}, timeout=10)
        if r.status_code != 200:
            raise LabError(r.json().get("error", r.text))

    def __str__(self) -> str:
        return f"lab at {self.endpoint_url} (home {self.home}, pid {self.pid})"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now, for a private lab (tests, course runs, figures)."""
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _state_file(home: Path) -> Path:
    return home / "lab.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running(home: Path | None = None) -> Lab | None:
    """The lab serving this home, if one is up and answering."""
    home = (home or config.home()).resolve()
    try:
        state = json.loads(_state_file(home).read_text())
    except (FileNotFoundError, ValueError):
        return None
    lab = Lab.from_state(home, state)
    if not _alive(lab.pid):
        return None
    import requests

    try:
        status = lab.status(timeout=2)
    except requests.RequestException:
        return None
    if Path(status.get("home", "")) != home:
        return None
    return lab


def start(home: Path | None = None, port: int | None = None, host: str = config.DEFAULT_HOST,
          token_ttl: float | None = None, region: str | None = None,
          timeout: float = 30.0, fork: bool = False) -> Lab:
    """Start a detached lab for `home` and wait until it listens (or say why it did not).

    The lab reports readiness through a pipe, so nothing polls. `fork=True` (used by the
    single-threaded `labkit lab up`) skips starting a second interpreter; library callers such
    as notebook kernels have threads, where fork is unsafe, so they exec a fresh Python.
    """
    home = (home or config.home()).resolve()
    existing = running(home)
    if existing:
        return existing
    home.mkdir(parents=True, exist_ok=True)
    port = config.port() if port is None else port
    argv = ["--home", str(home), "--host", host, "--port", str(port)]
    if token_ttl is not None:
        argv += ["--token-ttl", str(token_ttl)]
    if region:
        argv += ["--region", region]
    log_path = home / "lab.log"
    r, w = os.pipe()
    if fork:
        pid = _fork_server(argv + ["--ready-fd", str(w)], r, w, log_path)
        proc = None
    else:
        with open(log_path, "ab") as logf:
            proc = subprocess.Popen(
                [sys.executable, "-m", "labkit.lab.serve", *argv, "--ready-fd", str(w)],
                stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, pass_fds=(w,))
        pid = proc.pid
    os.close(w)
    line = _read_line(r, timeout)
    os.close(r)
    if line.startswith("ready"):
        lab = Lab.from_state(home, json.loads(_state_file(home).read_text()))
        if lab.host not in LOOPBACK_HOSTS:
            # the detached lab's own warning goes to lab.log: say it where the learner looks
            print(exposed_warning(lab.host, lab.port), file=sys.stderr)
        return lab
    code = proc.poll() if proc else _reap(pid)
    tail = log_path.read_text(errors="replace").splitlines()[-5:]
    if code is None:
        os.kill(pid, signal.SIGTERM)
        raise LabError(f"the lab did not answer within {timeout:.0f}s; see {log_path}")
    hint = ""
    if any("Address already in use" in line for line in tail):
        hint = (f" Port {port} is taken: stop what uses it, or choose another with "
                f"`labkit lab up --port N` / LABKIT_PORT=N.")
    raise LabError(f"the lab exited at start (code {code}).{hint}\n" + "\n".join(tail))


def _read_line(fd: int, timeout: float) -> str:
    """Read the readiness line; '' on EOF (the lab died) or timeout."""
    import select

    deadline = time.time() + timeout
    buf = b""
    while b"\n" not in buf:
        left = deadline - time.time()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return ""
        chunk = os.read(fd, 64)
        if not chunk:
            return ""
        buf += chunk
    return buf.decode(errors="replace")


def _reap(pid: int) -> int | None:
    time.sleep(0.05)
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None if _alive(pid) else -1
    return os.waitstatus_to_exitcode(status) if done else None


def _fork_server(argv: list[str], r: int, w: int, log_path: Path) -> int:
    pid = os.fork()
    if pid:
        return pid
    # child: detach from the terminal, log to the lab's log, serve
    code = 1
    try:
        os.close(r)
        os.setsid()
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        from . import serve

        code = serve.main(argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:  # noqa: BLE001 - the child must never return into the CLI
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def stop(home: Path | None = None, timeout: float = 15.0) -> bool:
    """Stop the lab of this home; True if one was running. State on disk is kept."""
    home = (home or config.home()).resolve()
    try:
        state = json.loads(_state_file(home).read_text())
    except (FileNotFoundError, ValueError):
        return False
    pid = int(state["pid"])
    if not _alive(pid):
        _state_file(home).unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + timeout
    while time.time() < deadline and _alive(pid):
        time.sleep(0.05)
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    _state_file(home).unlink(missing_ok=True)
    return True


def ensure(home: Path | None = None, **kwargs: Any) -> Lab:
    """The running lab for this home, started detached if none is up."""
    return running(home) or start(home, **kwargs)
