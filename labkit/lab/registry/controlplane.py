"""What the registry needs from the control plane (the ECR API's rules), and nothing more.

The registry's store is the one source of truth: the control plane keeps no copy of images or
tags, it only answers questions about repositories.  The lab wires in `control.EcrBackend`;
tests of the registry alone pass `MemoryControlPlane`.
"""

from __future__ import annotations

from typing import Protocol

from ...oci.manifest import Manifest


class ControlPlane(Protocol):
    registry_id: str

    def repository_exists(self, name: str) -> bool:
        """Pulls and listings need an existing repository."""

    def repository_for_push(self, name: str) -> bool:
        """A push needs one too; ECR creates it only from a CREATE_ON_PUSH creation template."""

    def tag_immutable(self, name: str, tag: str) -> bool:
        """True if `tag` may not be moved (IMMUTABLE, or the *_WITH_EXCLUSION filters say so)."""

    def image_pushed(self, name: str, manifest: Manifest, tag: str | None,
                     pushed_at: float) -> None:
        """A manifest PUT succeeded (a hook: scan on push); the store already holds it."""


class MemoryControlPlane:
    """A plain in-memory control plane, for unit tests of the registry alone."""

    def __init__(self, repositories: dict[str, bool] | None = None,
                 registry_id: str = "123456789012"):
        self.registry_id = registry_id
        self.repositories: dict[str, bool] = dict(repositories or {})  # name -> immutable
        self.images: dict[tuple[str, str], set[str]] = {}

    def repository_exists(self, name: str) -> bool:
        return name in self.repositories

    def repository_for_push(self, name: str) -> bool:
        return self.repository_exists(name)

    def tag_immutable(self, name: str, tag: str) -> bool:
        return self.repositories.get(name, False)

    def image_pushed(self, name: str, manifest: Manifest, tag: str | None,
                     pushed_at: float) -> None:
        tags = self.images.setdefault((name, manifest.digest), set())
        if tag:
            for (repo, digest), other in self.images.items():
                if repo == name and digest != manifest.digest:
                    other.discard(tag)
            tags.add(tag)
