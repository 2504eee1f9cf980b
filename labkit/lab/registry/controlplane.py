"""What the registry needs from the control plane (the ECR API state), and nothing more.

The lab wires in the moto-backed implementation; tests can pass `MemoryControlPlane`.
"""

from __future__ import annotations

from typing import Protocol

from ...oci.manifest import Manifest


class ControlPlane(Protocol):
    registry_id: str

    def repository_exists(self, name: str) -> bool:
        """ECR never creates a repository on push: the registry refuses unknown names."""

    def tags_immutable(self, name: str) -> bool:
        """True for an IMMUTABLE repository: an existing tag cannot be overwritten."""

    def image_pushed(self, name: str, manifest: Manifest, tag: str | None,
                     pushed_at: float) -> None:
        """A manifest PUT succeeded: register the image (digest, size, tag) in the ECR API."""

    def image_deleted(self, name: str, digest: str) -> None:
        """A manifest DELETE succeeded: drop the image from the ECR API."""

    def tag_deleted(self, name: str, tag: str) -> None:
        """A tag DELETE succeeded."""


class MemoryControlPlane:
    """A plain in-memory control plane, for unit tests of the registry alone."""

    def __init__(self, repositories: dict[str, bool] | None = None,
                 registry_id: str = "123456789012"):
        self.registry_id = registry_id
        self.repositories: dict[str, bool] = dict(repositories or {})  # name -> immutable
        self.images: dict[tuple[str, str], set[str]] = {}

    def repository_exists(self, name: str) -> bool:
        return name in self.repositories

    def tags_immutable(self, name: str) -> bool:
        return self.repositories.get(name, False)

    def image_pushed(self, name: str, manifest: Manifest, tag: str | None,
                     pushed_at: float) -> None:
        tags = self.images.setdefault((name, manifest.digest), set())
        if tag:
            for (repo, digest), other in self.images.items():
                if repo == name and digest != manifest.digest:
                    other.discard(tag)
            tags.add(tag)

    def image_deleted(self, name: str, digest: str) -> None:
        self.images.pop((name, digest), None)

    def tag_deleted(self, name: str, tag: str) -> None:
        for (repo, _), tags in self.images.items():
            if repo == name:
                tags.discard(tag)
