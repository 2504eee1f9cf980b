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
    (the short name the course's commands use: `docker push $REGISTRY/hello-app:v1`), and
    REGISTRY_URL, its URL for curl: https for a TLS lab or a room, whose CA then goes in
    CURL_CA_BUNDLE (as AWS_CA_BUNDLE for the AWS CLI), http for a plain one."""
    env = dict(lab.env())
    env["REGISTRY"] = env["LABKIT_REGISTRY"]
    tls = env.get("AWS_ENDPOINT_URL", "").startswith("https://")
    env["REGISTRY_URL"] = f"{'https' if tls else 'http'}://{env['REGISTRY']}"
    if env.get("AWS_CA_BUNDLE"):
        env["CURL_CA_BUNDLE"] = env["AWS_CA_BUNDLE"]
    return env


def render(env: dict[str, str], shell: str = "bash") -> str:
    """`export K=V` lines (bash, zsh) or `$env:K = 'V'` lines (PowerShell)."""
    if shell == "powershell":
        return "\n".join(f"$env:{k} = '{v.replace(chr(39), chr(39) * 2)}'"
                         for k, v in env.items())
    return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in env.items())


def docker_first(directory: str, shell: str = "bash", why: str = "no Docker Engine answers") -> str:
    """A comment saying that `docker` is the kit's built-in engine, and why, then the line that
    puts its directory first on PATH (what `labkit lab env` prints when it is the engine)."""
    said = f"# {why}: `docker` is labkit's built-in engine, first on PATH (no daemon; the course's commands)"
    if shell == "powershell":
        quoted = directory.replace(chr(39), chr(39) * 2)
        return f"{said}\n$env:PATH = '{quoted}' + [IO.Path]::PathSeparator + $env:PATH"
    return f'{said}\nexport PATH={shlex.quote(directory)}:"$PATH"'
