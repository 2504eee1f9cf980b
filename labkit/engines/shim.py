"""The built-in engine as a `docker` command, first on PATH when no Docker Engine answers.

One place decides whether `docker` should be the built-in engine and writes the command that
runs it, for a notebook's kernel (`labkit.course.shell.activate`) and for a learner's terminal
(`labkit lab env`, which prints the PATH line), so the course's commands work as written in
both, with or without Docker.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any

SHIM_DIR = "bin"  # under the lab's home: LABKIT_HOME/bin/docker (docker.cmd on Windows)


def shim_dir(home: Path) -> Path:
    return Path(home) / SHIM_DIR


def uses_builtin(engine: Any = None) -> bool:
    """True when `docker` commands should run through the built-in engine: LABKIT_ENGINE says
    builtin, or it says nothing and no Docker Engine answers."""
    if engine is not None:
        return getattr(engine, "name", "") == "builtin"
    choice = (os.environ.get("LABKIT_ENGINE") or "auto").strip().lower()
    if choice in ("builtin", "docker"):
        return choice == "builtin"
    from .docker.ping import docker_available

    return not docker_available()


def write_shim(directory: Path, engine_home: Path | None = None) -> Path:
    """`docker` (POSIX) or `docker.cmd` (Windows) in `directory` that runs the built-in engine
    with this Python; returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    if os.name == "nt":
        env = f'set "LABKIT_ENGINE_HOME={engine_home}"\r\n' if engine_home else ""
        text = f'@echo off\r\n{env}"{python}" -m labkit.engines.builtin.cli %*\r\n'
        (directory / "docker.cmd").write_text(text)
        return directory
    env = f"LABKIT_ENGINE_HOME={shlex.quote(str(engine_home))} " if engine_home else ""
    path = directory / "docker"
    text = ("#!/bin/sh\n# labkit's built-in engine as a `docker` command (written by labkit: "
            "`labkit lab env`, or a notebook's first cell)\n"
            f"{env}exec {shlex.quote(python)} -m labkit.engines.builtin.cli \"$@\"\n")
    if not path.exists() or path.read_text() != text:
        tmp = path.with_name(f".docker.{os.getpid()}")
        tmp.write_text(text)
        tmp.chmod(0o755)
        os.replace(tmp, path)  # a terminal running `docker` meanwhile never sees half a file
    return directory
