"""The built-in, daemonless engine: OCI layout store, reproducible builder, registry client."""

from .engine import BuiltinEngine

__all__ = ["BuiltinEngine"]
