"""An ECR backend in-process (no server) on a temp home: what the control plane's unit tests call,
through the same `EcrBackend.call` the lab's wire uses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from labkit.lab.access import AccessControl
from labkit.lab.auth.signing import Signer
from labkit.lab.auth.tokens import TokenIssuer
from labkit.lab.control.backend import EcrBackend
from labkit.lab.control.ecr_registry import RegistryFiles

ACCOUNT = "123456789012"
REGION = "us-east-1"
HOST = "127.0.0.1:5400"


class Clock:
    """A clock the test moves (the lab's LabClock in the lab)."""

    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_backend(home: Path, clock: Callable[[], float] | None = None) -> EcrBackend:
    signer = Signer(b"k" * 32)
    tick = clock or Clock()
    return EcrBackend.open(RegistryFiles.in_home(home), ACCOUNT, REGION, lambda: HOST, signer,
                           TokenIssuer(signer, "lab"),
                           AccessControl(home, signer, "lab", account=ACCOUNT, region=REGION,
                                         clock=tick),
                           clock=tick)
