"""ECR Lab Kit: learn how a private Docker registry works on Amazon ECR, by doing it.

`labkit.connect()` gives the target (the local lab, or AWS when LABKIT_TARGET=aws),
`labkit.engine()` gives the image engine (the Docker Engine, or the built-in daemonless one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from .ecr.target import Target
    from .engines.base import Engine


def connect(**kwargs: Any) -> Target:
    """The target of the course: the lab (started if needed) or, only if asked, real AWS."""
    from .ecr.target import connect as _connect

    return _connect(**kwargs)


def engine(name: str | None = None, **kwargs: Any) -> Engine:
    """The Docker Engine when one answers, else the built-in engine (LABKIT_ENGINE forces one)."""
    from .engines import select

    return select(name, **kwargs)
