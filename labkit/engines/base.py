"""The one interface both engines offer, so notebooks never care which one runs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from ..errors import GuidedError
from .report import TransferReport


class EngineError(GuidedError):
    """A failed engine step (build, login, push, pull), with guidance a learner can act on."""


@dataclass(frozen=True)
class LocalImage:
    """An image in the engine's local store."""

    ref: str  # repository:tag
    id: str  # config digest (what `docker images --no-trunc` shows as IMAGE ID)
    size: int
    layers: tuple[str, ...] = ()  # compressed layer digests, when known


class Engine(ABC):
    """build, tag, login, push, pull, images, remove: the seed's steps, one call each."""

    name: str = "engine"

    @abstractmethod
    def build(self, context: str | Path, tag: str) -> LocalImage: ...

    @abstractmethod
    def tag(self, source: str, target: str) -> LocalImage: ...

    @abstractmethod
    def login(self, registry: str, username: str, password: str) -> str:
        """Log in like `docker login`; returns docker's message ("Login Succeeded")."""

    @abstractmethod
    def push(self, ref: str, progress: bool = True) -> TransferReport: ...

    @abstractmethod
    def pull(self, ref: str, progress: bool = True) -> TransferReport: ...

    @abstractmethod
    def images(self) -> list[LocalImage]: ...

    @abstractmethod
    def remove(self, ref: str) -> None: ...

    def command(self, action: str, *args: str) -> str:
        """The docker CLI command a learner would type for this step."""
        return " ".join(["docker", action, *args])

    def __repr__(self) -> str:
        return f"<{type(self).__name__} engine={self.name!r}>"
