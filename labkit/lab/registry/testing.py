"""Helpers to run the registry alone on loopback: for tests and quick experiments, not the lab.

The lab's own server adds auth, the trace and the ECR API around `RegistryApp`; these helpers serve
the bare data plane so its protocol can be checked with real clients (requests, skopeo).
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

from werkzeug.serving import make_server

from ..signing import Signer
from .controlplane import MemoryControlPlane
from .handlers import RegistryApp
from .storage import Storage


def make_app(root: Path, repositories: dict[str, bool] | None = None,
             **kwargs) -> tuple[RegistryApp, MemoryControlPlane]:
    """A RegistryApp on `root` with an in-memory control plane (name -> immutable)."""
    control = MemoryControlPlane(repositories)
    app = RegistryApp(Storage(root), control, Signer(secrets.token_bytes(32)), **kwargs)
    return app, control


@contextlib.contextmanager
def serve(app, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve a WSGI app on a free loopback port in threads; yields its base URL."""
    server = make_server(host, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="registry-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
