"""The ECR client side: one target for the lab or real AWS (`target`), its sessions, its errors
and the objects it returns (`models`). `labkit.connect()` is the way in.

`Target` and `connect` are imported on first use (PEP 562): `labkit.ecr.login`, which the
built-in `docker` command and `labkit lab env` need, must not pay for importing boto3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .target import Target, connect

__all__ = ["Target", "connect"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import target

        return getattr(target, name)
    raise AttributeError(f"module 'labkit.ecr' has no attribute {name!r}")
