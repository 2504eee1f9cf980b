"""`labkit doctor`: is this machine ready for the workshop? One line per check, with the fix.

Run it before a workshop (or ask learners to): it checks Python, the Docker Engine (or that the
built-in engine will be used), the lab's port, disk space, that a lab starts, and one real push
and pull round trip of the sample image, in a throwaway home so nothing of the learner's changes.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ... import config

MIN_PYTHON = (3, 11)
MIN_DOCKER = (20, 10)
MIN_FREE_BYTES = 500 * 1000 * 1000


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    fatal: bool = False  # later checks make no sense without this one

    def line(self) -> str:
        if self.ok:
            return f"OK   {self.name}: {self.detail}"
        return f"FIX  {self.name}: {self.detail}" + (f"\n     -> {self.fix}" if self.fix else "")


def check_python() -> Check:
    v = sys.version_info
    text = f"{v.major}.{v.minor}.{v.micro}"
    if (v.major, v.minor) >= MIN_PYTHON:
        return Check("python", True, text)
    return Check("python", False, f"{text} is too old",
                 "install Python 3.11 or newer and reinstall the kit (pip install labkit)")


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for p in text.split("+")[0].split("-")[0].split(".")[:2]:
        parts.append(int("".join(ch for ch in p if ch.isdigit()) or 0))
    return tuple(parts)


def check_engine() -> Check:
    """The Docker Engine and its version, or the built-in engine (never a failure by itself)."""
    forced = (os.environ.get("LABKIT_ENGINE") or "").lower()
    if forced == "builtin":
        return Check("engine", True, "built-in engine (LABKIT_ENGINE=builtin): no Docker needed")
    from ...engines.docker.ping import docker_available

    if not docker_available(timeout=3.0):
        if forced == "docker":
            return Check("engine", False, "LABKIT_ENGINE=docker but no Docker Engine answers",
                         "start Docker (Docker Desktop, or `sudo systemctl start docker`), or "
                         "unset LABKIT_ENGINE to use the built-in engine", fatal=True)
        return Check("engine", True, "no Docker Engine answers: the built-in engine will be "
                     "used (fine for the whole course)")
    import docker

    client = docker.from_env(timeout=10)
    try:
        info = client.version()
        platform = str((info.get("Platform") or {}).get("Name", ""))
    finally:
        client.close()
    version = str(info.get("Version", "?"))
    where = f" ({platform})" if platform else ""
    if _version_tuple(version) < MIN_DOCKER:
        return Check("engine", False, f"Docker Engine {version} is too old",
                     f"upgrade Docker to {MIN_DOCKER[0]}.{MIN_DOCKER[1]} or newer, or set "
                     "LABKIT_ENGINE=builtin")
    return Check("engine", True, f"Docker Engine {version}{where}")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((config.DEFAULT_HOST, port))
        except OSError:
            return False
    return True


def check_port() -> Check:
    """The lab's port (LABKIT_PORT or the default) is free, or already the lab's own."""
    from ...lab import process

    port = config.port()
    lab = process.running()
    if lab is not None and lab.port == port:
        return Check("port", True, f"{port} is used by your running lab ({lab.endpoint_url})")
    if _port_free(port):
        return Check("port", True, f"127.0.0.1:{port} is free for the lab")
    from ...lab.process import free_port

    return Check("port", False, f"127.0.0.1:{port} is taken by another program",
                 f"stop that program, or use another port: export LABKIT_PORT={free_port()}")


def check_disk() -> Check:
    """Room for the lab's data and the images (the course itself needs a few MB)."""
    home = config.home()
    probe = next((p for p in (home, *home.parents) if p.exists()), Path("/"))
    free = shutil.disk_usage(probe).free
    text = f"{free / 1e9:.1f} GB free in {probe}"
    if free >= MIN_FREE_BYTES:
        return Check("disk", True, text)
    return Check("disk", False, text, "free at least 500 MB there, or point LABKIT_HOME at a "
                 "disk with room")


def round_trip_checks() -> Iterator[Check]:
    """Start a lab in a temp home and push and pull the sample image through it."""
    from .runner import isolated

    # no turn on a shared Docker Engine: the round trip's image names are its own (the lab's
    # port in them), so it never touches a course run's `hello-app:v1`, nor waits for one
    with isolated(turn=False):
        from ...lab import process

        t0 = time.monotonic()
        try:
            lab = process.start()
        except Exception as e:  # noqa: BLE001 - any failure here is the thing to report
            yield Check("lab", False, f"the lab did not start: {str(e).splitlines()[0]}",
                        "see the message above; `labkit lab up --foreground` shows the log",
                        fatal=True)
            return
        yield Check("lab", True, f"started at {lab.endpoint_url} in {time.monotonic() - t0:.1f}s")
        yield _round_trip(lab)


def _round_trip(lab: object) -> Check:
    from ...ecr.target import connect
    from ...engines import select
    from .. import sample
    from ..state import context

    t0 = time.monotonic()
    step = "connect"
    try:
        engine = select()
        target = connect(lab=lab)  # type: ignore[arg-type]
        step = "create repository"
        target.create_repository("doctor-check")
        step = "login"
        target.login(engine)
        step = "build"
        sample.ensure_base(engine)
        local = f"doctor-check-{lab.port}:v1"  # type: ignore[attr-defined]
        engine.build(context(1), local)
        ref = target.uri("doctor-check", "v1")
        engine.tag(local, ref)
        step = "push"
        pushed = engine.push(ref, progress=False)
        engine.remove(ref)
        engine.remove(local)
        step = "pull"
        pulled = engine.pull(ref, progress=False)
        engine.remove(ref)
    except Exception as e:  # noqa: BLE001 - report what failed, with the engine's hint
        fix = getattr(e, "hint", "") or "run `labkit doctor` again; if it persists, report it"
        if step in ("push", "pull", "login") and getattr(engine, "name", "") == "docker":
            fix += (" (Docker Desktop: the engine runs in a VM and may not reach 127.0.0.1; see "
                    "docs/workshop.md, or set LABKIT_ENGINE=builtin)")
        return Check("round trip", False, f"{step} failed: {str(e).splitlines()[0]}", fix)
    if pulled.digest != pushed.digest:
        return Check("round trip", False, "the pulled image differs from the pushed one",
                     "report this: the engine or the lab is broken")
    return Check("round trip", True, f"pushed and pulled the sample image with the "
                 f"{engine.name} engine in {time.monotonic() - t0:.1f}s (same digest)")


def run(echo: Callable[[str], None] = print) -> list[Check]:
    """Run every check in order, echoing one line each; stop after a fatal one."""
    results: list[Check] = []
    simple = (check_python, check_engine, check_port, check_disk)
    for fn in simple:
        c = fn()
        results.append(c)
        echo(c.line())
        if c.fatal:
            return results
    for c in round_trip_checks():
        results.append(c)
        echo(c.line())
    return results
