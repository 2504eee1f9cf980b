"""Helpers to run the registry alone on loopback: for tests and quick experiments, not the lab.

The lab's own app adds auth, the trace and the ECR API's HTTP side around `RegistryApp`; these
helpers serve the bare data plane so its protocol can be checked with real clients (requests,
skopeo). Its control plane is the lab's own `EcrBackend` on the same store (no test double:
what the tests see through it is what the lab's ECR API would answer).
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from labkit.config import LAB_ACCOUNT_ID
from labkit.lab.access import AccessControl
from labkit.lab.auth.signing import Signer
from labkit.lab.auth.tokens import TokenIssuer
from labkit.lab.control.backend import EcrBackend
from labkit.lab.control.ecr_registry import RegistryFiles
from labkit.lab.registry.handlers import RegistryApp
from labkit.lab.server.frontdoor import FrontDoor

REGION = "us-east-1"


def make_app(root: Path, repositories: dict[str, bool] | None = None,
             **kwargs: Any) -> tuple[RegistryApp, EcrBackend]:
    """A RegistryApp on `root/registry` and the lab's ECR backend on the same store, laid out
    like a lab's home. `repositories` (name -> immutable) are made with CreateRepository.
    `kwargs` go to RegistryApp (a `clock` drives the backend too)."""
    root = Path(root)
    signer = Signer(secrets.token_bytes(32))
    clock = kwargs.get("clock", time.time)
    control = EcrBackend.open(
        RegistryFiles.in_home(root), LAB_ACCOUNT_ID, REGION, lambda: "127.0.0.1", signer,
        TokenIssuer(signer, "lab"),
        AccessControl(root, signer, "lab", account=LAB_ACCOUNT_ID, region=REGION, clock=clock),
        clock=clock)
    for name, immutable in (repositories or {}).items():
        control.call("CreateRepository", {
            "repositoryName": name, "imageTagMutability": "IMMUTABLE" if immutable else "MUTABLE"})
    return RegistryApp(control.storage, control, signer, **kwargs), control


def image_tags(control: EcrBackend, repository: str) -> dict[str, list[str]]:
    """digest -> tags, as the ECR API's DescribeImages reports the repository's images."""
    details = control.call("DescribeImages", {"repositoryName": repository})["imageDetails"]
    return {d["imageDigest"]: sorted(d.get("imageTags", [])) for d in details}


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
