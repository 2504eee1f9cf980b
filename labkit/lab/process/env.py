"""The shell variables that point `aws` and `docker` at a lab: one set, for `labkit lab env`
(bash or PowerShell) and for a notebook's kernel (`labkit.course.shell.activate`)."""

from __future__ import annotations

import shlex
from typing import Protocol


class LabLike(Protocol):
    registry: str
    region: str

    def env(self) -> dict[str, str]: ...


def variables(lab: LabLike) -> dict[str, str]:
    """AWS_ENDPOINT_URL, dummy credentials, region, LABKIT_REGISTRY, LABKIT_HOME, and REGISTRY
    (the short name the course's commands use: `docker push $REGISTRY/hello-app:v1`)."""
    env = dict(lab.env())
    env["REGISTRY"] = env["LABKIT_REGISTRY"]
    return env


def render(env: dict[str, str], shell: str = "bash") -> str:
    """`export K=V` lines (bash, zsh) or `$env:K = 'V'` lines (PowerShell)."""
    if shell == "powershell":
        return "\n".join(f"$env:{k} = '{v.replace(chr(39), chr(39) * 2)}'"
                         for k, v in env.items())
    return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in env.items())
