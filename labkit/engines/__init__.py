"""Image engines: the real Docker Engine (`docker`) or the daemonless one (`builtin`)."""

from __future__ import annotations

import os
from typing import Any

from .base import Engine, EngineError, LocalImage

__all__ = ["Engine", "EngineError", "LocalImage", "select"]


def select(name: str | None = None, **kwargs: Any) -> Engine:
    """LABKIT_ENGINE=docker|builtin forces one; otherwise Docker if its engine answers."""
    choice = (name or os.environ.get("LABKIT_ENGINE") or "auto").lower()
    if choice not in ("auto", "docker", "builtin"):
        raise ValueError(f"LABKIT_ENGINE must be docker, builtin or auto, not {choice!r}")
    if choice in ("auto", "docker"):
        from .docker.ping import docker_available

        if choice == "docker" or docker_available():
            from .docker.engine import DockerEngine

            return DockerEngine(**kwargs)
    from .builtin import BuiltinEngine

    return BuiltinEngine(**kwargs)

