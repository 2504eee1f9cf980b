"""The ECR client side: one target for the lab or real AWS (`target`), its sessions, its errors
and the objects it returns (`models`). `labkit.connect()` is the way in."""

from __future__ import annotations

from .target import Target, connect

__all__ = ["Target", "connect"]
