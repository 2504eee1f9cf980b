"""A notebook's kernel gets the terminal's environment: `!aws ...` and `!docker ...` cells reach
the lab exactly as a terminal does after `eval "$(labkit lab env)"`.

`activate()` sets the variables `labkit lab env` prints and, when the course runs on the
built-in engine (no Docker Engine, or LABKIT_ENGINE=builtin), puts a `docker` command first on
PATH that runs it (`labkit.engines.shim`; `labkit lab env` does the same for a terminal). It
never sets DOCKER_CONFIG: the learner's notebook and terminal share one docker config
(`~/.docker/config.json`), so a login in one is a login in the other.
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path
from typing import Any

from ..engines.shim import SHIM_DIR, uses_builtin, write_shim  # noqa: F401 - used by callers too
from ..lab.process.env import variables


def _path_without(directory: Path) -> list[str]:
    return [p for p in os.environ.get("PATH", "").split(os.pathsep)
            if p and Path(p) != directory]


def activate(lab: Any = None, engine: Any = None) -> dict[str, str]:
    """Point this process's `!aws` and `!docker` at the lab; returns the variables set.

    `lab` defaults to the running lab for LABKIT_HOME (started if needed), except on real AWS
    (LABKIT_TARGET=aws), where no lab variable is set: the learner's own AWS profile applies,
    as in their terminal. `engine` decides which `docker` runs (default: what
    `labkit.engines.select()` would pick). `aws` and `labkit` (installed next to this Python)
    are put on PATH too: a kernel started from a venv never activated would miss them."""
    on_aws = (os.environ.get("LABKIT_TARGET") or "lab").strip().lower() == "aws"
    if lab is None and not on_aws:
        from ..lab import ensure
        from ..room.remote import room_lab

        lab = room_lab() or ensure()
    env = variables(lab) if lab is not None else {}
    if "AWS_PROFILE" in env:  # a room: its profile's keys, not a local lab's left here
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            os.environ.pop(key, None)
    os.environ.update(env)
    from .. import config

    shims = (Path(lab.home) if lab is not None else config.home()) / SHIM_DIR
    path = _path_without(shims)
    scripts = sysconfig.get_path("scripts")
    if scripts and scripts not in path:
        path.insert(0, scripts)
    if uses_builtin(engine):
        home = getattr(engine, "home", None)
        write_shim(shims, Path(home) if home else None)
        path.insert(0, str(shims))
    joined = os.pathsep.join(path)
    if joined != os.environ.get("PATH"):
        os.environ["PATH"] = env["PATH"] = joined
    return env
