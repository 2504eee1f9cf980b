"""Helpers to run the registry alone on loopback: for tests and quick experiments, not the lab.

The lab's own app adds auth, the trace and moto around `RegistryApp`; these helpers serve
the bare data plane so its protocol can be checked with real clients (requests, skopeo).
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

from labkit.lab.auth.signing import Signer
from labkit.lab.registry.handlers import RegistryApp
from labkit.lab.registry.storage import Storage
from labkit.lab.server.frontdoor import FrontDoor
from tests.fakes.control_plane import MemoryControlPlane


def make_app(root: Path, repositories: dict[str, bool] | None = None,
             **kwargs) -> tuple[RegistryApp, MemoryControlPlane]:
    """A RegistryApp on `root` with an in-memory control plane (name -> immutable)."""
    control = MemoryControlPlane(repositories)
    app = RegistryApp(Storage(root), control, Signer(secrets.token_bytes(32)), **kwargs)
    return app, control


@contextlib.contextmanager
def serve(app, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve a WSGI app on a free loopback port behind the lab's front door; yields its URL."""
    server = FrontDoor(app, host, 0, threads=8)
    server.prepare()
    thread = threading.Thread(target=server.serve, name="registry-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.port}"
    finally:
        server.stop()
        thread.join(timeout=10)
