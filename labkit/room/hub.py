"""A hosted room: JupyterHub on the instructor's machine, one user server per learner, each
running the course with the built-in engine as that learner of the room's lab.

In `jupyterhub_config.py` (after `labkit classroom up --names ada,grace,...`, with the hub's
user names being the learners' names):

    from labkit.room.hub import configure
    configure(c, join_file="/srv/labkit-room/room/join.txt", homes="/srv/labkit-users")

Why a spawn hook: each learner's server gets its own labkit home and AWS files (under
`homes/NAME`), joined to the room with that learner's line before the server starts, so the
notebooks' first cell finds the room (labkit/room/remote.py) and every kernel acts as that
learner. `LABKIT_ENGINE=builtin`: the servers have no Docker. The learner never sees the line
or the keys: the hub joins for them.

Isolation between learners is the spawner's: JupyterHub's LocalProcessSpawner runs each
server as the learner's own Unix user (make them first); `SimpleLocalProcessSpawner` (tests,
demos) runs every server as the hub's user, so learners could read each other's files, keys
included. docs/workshop.md, "A hosted room", says which to use.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def join_lines(join_file: str | Path) -> dict[str, str]:
    """Learner name -> join line (URL), from `labkit classroom up`'s file."""
    out = {}
    for line in Path(join_file).read_text().splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[1:4] == ["labkit", "classroom", "join"]:
            out[parts[0]] = parts[4]
    return out


def learner_environment(home: Path) -> dict[str, str]:
    """Where a learner's server keeps its labkit home, AWS files and docker config."""
    return {"LABKIT_HOME": str(home / "labkit"),
            "AWS_CONFIG_FILE": str(home / "aws" / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws" / "credentials"),
            "DOCKER_CONFIG": str(home / "docker"), "LABKIT_ENGINE": "builtin"}


def join(name: str, line: str, home: Path) -> None:
    """`labkit classroom join LINE` for learner `name` in `home` (once: a home that joined
    stays joined across the server's restarts)."""
    env = learner_environment(home)
    if (Path(env["LABKIT_HOME"]) / "room.json").exists():
        return
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LABKIT_"))}
    r = subprocess.run([sys.executable, "-m", "labkit", "classroom", "join", line],
                       env={**clean, **env}, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"labkit classroom join for {name} failed: {r.stderr.strip()}")


def _give(home: Path, name: str) -> None:
    """The learner's home to the learner's Unix user, if there is one and the hub may (root,
    with LocalProcessSpawner): their server must read its keys, nobody else may."""
    import pwd

    if os.geteuid() != 0:
        return
    try:
        user = pwd.getpwnam(name)
    except KeyError:
        return  # no such Unix user: a hub whose servers all run as itself
    for path in [home, *home.rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)


def configure(c: Any, join_file: str | Path, homes: str | Path) -> None:
    """Set a JupyterHub config `c` so each user's server is that learner of the room."""
    lines = join_lines(join_file)
    root = Path(homes)

    def pre_spawn_hook(spawner: Any) -> None:
        name = spawner.user.name
        if name not in lines:
            raise RuntimeError(f"{name} is not a learner of this room (the room's learners: "
                               f"{', '.join(sorted(lines))})")
        join(name, lines[name], root / name)
        _give(root / name, name)
        spawner.environment.update(learner_environment(root / name))

    c.Spawner.pre_spawn_hook = pre_spawn_hook
    c.Spawner.environment = {"LABKIT_ENGINE": "builtin"}
    c.Authenticator.allowed_users = set(lines)
