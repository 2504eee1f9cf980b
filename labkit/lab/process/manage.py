"""Start, find and stop the lab process: one per LABKIT_HOME, shared by every notebook,
terminal and test that uses that home."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import config
from . import launch, pids, probe
from .probe import Verdict

if TYPE_CHECKING:
    from ...trace.record import TraceRecord

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
    ca_file: Path | None = None  # a TLS lab's CA certificate (labkit/lab/tls); None: plain HTTP

    @classmethod
    def from_state(cls, home: Path, state: dict[str, Any]) -> Lab:
        """The lab its `lab.json` describes (the server writes it once it listens)."""
        return cls(home=home, host=state["host"], port=int(state["port"]),
                   pid=int(state["pid"]), registry=state["registry"],
                   region=state.get("region", config.DEFAULT_REGION),
                   ca_file=Path(state["ca"]) if state.get("tls") and state.get("ca") else None)

    @property
    def tls(self) -> bool:
        """Whether the lab serves HTTPS (every door: its port and its regions' ports)."""
        return self.ca_file is not None

    @property
    def endpoint_url(self) -> str:
        """What the AWS CLI and boto3 use as --endpoint-url."""
        return f"{'https' if self.tls else 'http'}://{self.registry}"

    @property
    def verify(self) -> str | bool:
        """What a requests/boto3 client verifies the lab's certificate with: its CA's file for a
        TLS lab (no system change), the default otherwise."""
        return str(self.ca_file) if self.ca_file is not None else True

    def env(self) -> dict[str, str]:
        """The environment after which `aws ecr ...` and `docker ... REGISTRY` reach this lab.
        A TLS lab's adds AWS_CA_BUNDLE: the AWS CLI and boto3 then verify it against its CA."""
        from ..auth import labkeys

        key_id, secret = labkeys.load(self.home)  # a room's lab has keys of its own
        env = {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": key_id,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "LABKIT_REGISTRY": self.registry,
            "LABKIT_HOME": str(self.home),
        }
        if self.ca_file is not None:
            env["AWS_CA_BUNDLE"] = str(self.ca_file)
        return env

    def admin(self, method: str, path: str, doc: dict[str, Any] | None = None,
              params: dict[str, Any] | None = None, timeout: float = 10.0) -> Any:
        """Call one of the lab's own endpoints (`/_labkit/...`), signed with this home's
        secret (labkit/lab/auth/admin.py); the answer's JSON, or LabError with the lab's
        reason."""
        from urllib.parse import urlencode

        import requests

        from ..auth.admin import authorization
        from .identity import read_secret

        secret = read_secret(self.home)
        if secret is None:
            raise LabError(f"cannot read {self.home / 'secret.key'}: the lab's own endpoints "
                           f"answer only a client that holds the secret of the home that "
                           f"started the lab")
        query = urlencode(params or {})
        body = json.dumps(doc).encode() if doc is not None else b""
        headers = {"Authorization": authorization(secret, method, path, query, body)}
        if doc is not None:
            headers["Content-Type"] = "application/json"
        url = f"{self.endpoint_url}{path}{'?' + query if query else ''}"
        r = requests.request(method, url, data=body or None, headers=headers, timeout=timeout,
                             verify=self.verify)
        try:
            answer = r.json()
        except ValueError:
            answer = None
        if not r.ok or answer is None:
            error = answer.get("error") if isinstance(answer, dict) else None
            raise LabError(f"the lab refused {method} {path} (HTTP {r.status_code}): "
                           f"{error or r.text[:200]}")
        return answer

    def status(self, timeout: float = 2.0) -> dict[str, Any]:
        return dict(self.admin("GET", "/_labkit/status", timeout=timeout))

    def trace(self, since: int = 0) -> list[TraceRecord]:
        """The requests the lab recorded after sequence number `since` (read them with
        labkit.trace: pulls, pushes, failures)."""
        from ...trace.record import from_dicts

        return from_dicts(self.admin("GET", "/_labkit/trace", params={"since": since})["requests"])

    def trace_mark(self) -> int:
        """The current end of the trace: pass it to `trace(since=...)` to see what follows."""
        return int(self.admin("GET", "/_labkit/trace", params={"since": 1 << 62})["last"])

    def operations(self) -> dict[str, int]:
        """AWS API operations (CreateRepository, ...) the lab answered, with their counts."""
        return dict(self.admin("GET", "/_labkit/operations")["operations"])

    def create_account(self, name: str) -> dict[str, str]:
        """A new account of the lab, with its administrator `admin` and that user's access key
        (account_id, name, user, access_key_id, secret_access_key)."""
        return dict(self.admin("POST", "/_labkit/accounts", {"name": name}, timeout=30))

    # --- issue 20: the instructor's board ------------------------------------------------------
    def board_url(self) -> str:
        """A one-time URL that opens the instructor's board in a browser (within 5 minutes,
        once: the browser then holds a session cookie for the board only)."""
        doc = self.admin("POST", "/_labkit/board/ticket")
        return f"{self.endpoint_url}{doc['path']}?ticket={doc['ticket']}"

    def board(self, idle_minutes: float | None = None, repeats: int | None = None
              ) -> dict[str, Any]:
        """The board's rows (a learner each: steps done, last failure explained, flags)."""
        params = {k: v for k, v in (("idle", idle_minutes), ("repeats", repeats)) if v is not None}
        return dict(self.admin("GET", "/_labkit/board/rows", params=params))

    def set_token_ttl(self, seconds: float) -> None:
        """Make new authorization tokens expire after `seconds` (for the expiry exercise)."""
        self.admin("POST", "/_labkit/settings", {"token_ttl": seconds})

    # --- issue 11: the lab's clock and its lifecycle policies --------------------------------
    def clock(self) -> dict[str, Any]:
        """The lab's clock: its time and how far ahead of the wall clock it is."""
        return dict(self.admin("GET", "/_labkit/clock"))

    def advance_clock(self, days: float = 0, hours: float = 0) -> dict[str, Any]:
        """Make time pass for the lab (image ages, lifecycle rules); returns the clock's state."""
        return dict(self.admin("POST", "/_labkit/clock",
                               {"advance": days * 86400 + hours * 3600}, timeout=60))

    def reset_clock(self) -> dict[str, Any]:
        """Put the lab's clock back on the wall clock."""
        return dict(self.admin("POST", "/_labkit/clock", {"reset": True}, timeout=60))

    def run_lifecycle(self, repository: str | None = None) -> list[dict[str, Any]]:
        """Apply the lifecycle policies now (the lab's schedule would, within a minute)."""
        params = {"repository": repository} if repository else None
        return list(self.admin("POST", "/_labkit/lifecycle/run", params=params,
                               timeout=60)["results"])

    def collect_garbage(self) -> int:
        """Remove now the blobs no image refers to (past the grace period); how many went."""
        return int(self.admin("POST", "/_labkit/gc", timeout=60)["removed"])

    def __str__(self) -> str:
        return f"lab at {self.endpoint_url} (home {self.home}, pid {self.pid})"


# Where a private lab's port is picked: below Linux's ephemeral range (32768-60999), from which
# the system hands out ports to everything that binds port 0 (a Jupyter kernel's five sockets,
# every client connection). A port picked there is free now, but another process may be given
# it before the lab binds it: on a busy machine a kernel then died at its start ("Kernel died
# before replying to kernel_info"). Below the range, only another explicit pick can take it.
PICK_RANGE = (20000, 32767)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now, for a private lab (tests, course runs, figures)."""
    import random
    import socket

    for _ in range(50):
        port = random.randint(*PICK_RANGE)
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # that range is full: whatever the system gives
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _state_file(home: Path) -> Path:
    return home / "lab.json"


@dataclass
class Stopped:
    """What `stop()` did; true only if a lab was running and was stopped."""

    stopped: bool
    message: str

    def __bool__(self) -> bool:
        return self.stopped


def find(home: Path | None = None, timeout: float = 5.0) -> probe.Finding:
    """What this home's lab.json describes, proved or disproved. A stale one (a PID that is
    another process now, a port another lab holds) is removed: nothing is ever signalled."""
    home = (home or config.home()).resolve()
    found = probe.identify(home, _state_file(home), timeout=timeout)
    if found.verdict is Verdict.STALE:
        _forget(home, found.state)
    return found


def running(home: Path | None = None) -> Lab | None:
    """The lab serving this home, if one is up and proves it holds the home's secret."""
    home = (home or config.home()).resolve()
    found = find(home)
    if found.verdict is Verdict.PROVEN and found.state is not None:
        return Lab.from_state(home, found.state)
    return None


# Set by `runner.isolated` for a temp home: the PID of the course run that owns the private lab
# (kernels start the lab and inherit the variable; the lab stops when that process ends).
OWNER_VAR = "LABKIT_LAB_OWNER"


def start(home: Path | None = None, port: int | None = None, host: str = config.DEFAULT_HOST,
          token_ttl: float | None = None, region: str | None = None,
          timeout: float = 30.0, fork: bool = False, tls: bool | None = None,
          tls_hosts: list[str] | None = None, address: str | None = None) -> Lab:
    """Start a detached lab for `home` and wait until it listens (or say why it did not).

    `tls=True` serves HTTPS on every door with a certificate from the home's own CA (`False`
    plain HTTP; None what this home chose at its last start, plain at its first); `tls_hosts`
    are the names or addresses, besides 127.0.0.1 and localhost, its certificate must carry
    (labkit/lab/tls). Both are kept in the home for the next start. `address`: the name the
    lab's repository URIs and proxyEndpoint give when clients do not reach it by `host` (a
    workshop room listening on 0.0.0.0, reached at its LAN address).

    `fork=True` (the single-threaded `labkit lab up`) lets POSIX fork the CLI instead of
    starting a second interpreter; library callers such as notebook kernels have threads,
    where fork is unsafe, so they take the portable path (see `launch`).
    """
    home = (home or config.home()).resolve()
    found = find(home)
    if found.verdict is Verdict.PROVEN and found.state is not None:
        return Lab.from_state(home, found.state)
    if found.verdict is Verdict.UNSURE:
        raise LabError(f"not starting a second lab for {home}: {found.reason}. Try again, or "
                       f"run `labkit lab down{_home_flag(home)}`.")
    home.mkdir(parents=True, exist_ok=True)
    port = config.port() if port is None else port
    argv = ["--home", str(home), "--host", host, "--port", str(port)]
    if token_ttl is not None:
        argv += ["--token-ttl", str(token_ttl)]
    if region:
        argv += ["--region", region]
    if tls is not None:
        argv.append("--tls" if tls else "--no-tls")
    for name in tls_hosts or ():
        argv += ["--tls-host", name]
    if address:
        argv += ["--address", address]
    owner = os.environ.get(OWNER_VAR, "").strip()
    if owner.isdigit():  # a course run's private lab ends with the run (runner.isolated)
        argv += ["--owner-pid", owner]
    log_path = home / "lab.log"
    try:
        how = launch.method(fork_allowed=fork)
    except ValueError as e:
        raise LabError(str(e)) from None
    child = launch.spawn(argv, log_path, how)
    outcome = launch.wait_ready(_state_file(home), child, timeout)
    if isinstance(outcome, dict):
        lab = Lab.from_state(home, outcome)
        if lab.host not in LOOPBACK_HOSTS:
            # the detached lab's own warning goes to lab.log: say it where the learner looks
            print(exposed_warning(lab.host, lab.port), file=sys.stderr)
        return lab
    tail = log_path.read_text(errors="replace").splitlines()[-5:]
    if outcome is None:
        child.terminate()  # our own child, not yet reaped: its PID cannot be anyone else's
        raise LabError(f"the lab did not answer within {timeout:.0f}s; see {log_path}")
    hint = ""
    if any("Address already in use" in line for line in tail):
        hint = (f" Port {port} is taken: stop what uses it, or choose another with "
                f"`labkit lab up --port N` / LABKIT_PORT=N.")
    raise LabError(f"the lab exited at start (code {outcome}).{hint}\n" + "\n".join(tail))


def stop(home: Path | None = None, timeout: float = 15.0) -> Stopped:
    """Stop this home's lab, only once it proved it is that lab. State on disk is kept.

    The lab is asked through its authenticated shutdown endpoint (every OS); on POSIX a proven
    lab that does not exit in time gets SIGTERM, then SIGKILL. A stale lab.json is removed and
    its PID left alone; a PID that is alive but does not answer raises LabError.
    """
    home = (home or config.home()).resolve()
    found = find(home)
    if found.verdict is Verdict.ABSENT:
        return Stopped(False, f"no lab was running for {home}")
    if found.verdict is Verdict.STALE:
        return Stopped(False, f"no lab was running for {home}: {found.reason}; left that "
                              f"process alone and removed the stale lab.json")
    if found.verdict is Verdict.UNSURE or found.state is None:
        raise LabError(f"did not stop anything: {found.reason}. If that is a hung lab, stop it "
                       f"yourself and run `labkit lab down{_home_flag(home)}` again.")
    lab = Lab.from_state(home, found.state)
    refused = probe.ask_to_stop(home, lab.registry, lab.pid, ca=lab.ca_file)
    deadline = time.monotonic() + (0 if refused else timeout)
    _wait_exit(lab.pid, deadline)
    if pids.alive(lab.pid):
        _signal_proven(lab.pid, refused)
    _forget(home, found.state)
    return Stopped(True, f"lab stopped (state kept in {home})")


def _signal_proven(pid: int, why: str | None) -> None:
    """The POSIX fallback for a lab that proved itself but did not stop when asked."""
    if os.name == "nt":
        raise LabError(f"the lab (pid {pid}) did not stop: {why or 'it is still running'}")
    with contextlib.suppress(ProcessLookupError):  # it may exit just now, on its own
        os.kill(pid, signal.SIGTERM)
        _wait_exit(pid, time.monotonic() + 10)
        if pids.alive(pid):
            os.kill(pid, signal.SIGKILL)
            _wait_exit(pid, time.monotonic() + 5)


def _wait_exit(pid: int, deadline: float) -> None:
    while pids.alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)


def _forget(home: Path, state: dict[str, Any] | None) -> None:
    """Remove lab.json if it still is the one we judged (a lab starting meanwhile keeps its)."""
    path = _state_file(home)
    try:
        if state is None or json.loads(path.read_text()) == state:
            path.unlink()
    except (OSError, ValueError):
        pass


def _home_flag(home: Path) -> str:
    return "" if home == config.home() else f" --home {home}"


def ensure(home: Path | None = None, **kwargs: Any) -> Lab:
    """The running lab for this home, started detached if none is up."""
    return running(home) or start(home, **kwargs)
