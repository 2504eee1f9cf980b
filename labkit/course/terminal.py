"""The learner's `docker` command line, as used by the course's own set-up (`prepare`).

`prepare("04-push")` must leave the *docker CLI* logged in, not only labkit's engine: the
notebook's next cell is `docker push ...`, typed like in a terminal, and that command reads the
docker config (~/.docker/config.json, or DOCKER_CONFIG), the same one the learner's terminal
uses. So the login goes through `docker login --password-stdin`, whichever `docker` is first on
PATH (the Docker Engine's CLI, or the built-in engine's shim that `activate()` puts there).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path


class DockerLoginError(RuntimeError):
    """`docker login` failed: its own message, without the password."""


class DockerLogin:
    """An `EngineLike` for `Target.login()` that logs the docker CLI in (password on stdin)."""

    def __init__(self, docker: str | None = None, timeout: float = 60.0):
        self.docker = docker or shutil.which("docker")
        self.timeout = timeout

    def login(self, registry: str, username: str, password: str) -> str:
        if self.docker is None:
            # no docker command at all (the built-in engine before its shim is on PATH):
            # nothing else reads a docker config here
            return "no docker command on PATH"
        r = subprocess.run([self.docker, "login", "--username", username, "--password-stdin",
                            registry], input=password, capture_output=True, text=True,
                           timeout=self.timeout)
        if r.returncode != 0:
            raise DockerLoginError(f"docker login {registry} failed: "
                                   f"{(r.stderr or r.stdout).strip().replace(password, '***')}")
        return r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "Login Succeeded"


def docker_config_dir() -> Path:
    """The folder the docker CLI reads: DOCKER_CONFIG, else ~/.docker."""
    env = os.environ.get("DOCKER_CONFIG")
    return Path(env).expanduser() if env else Path.home() / ".docker"


def docker_logins() -> list[str]:
    """Registries the docker config holds a login for (never the credentials themselves)."""
    path = docker_config_dir() / "config.json"
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    names = set(doc.get("auths") or {}) | set(doc.get("credHelpers") or {})
    return sorted(n.split("://", 1)[-1].rstrip("/") for n in names)
