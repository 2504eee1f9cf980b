"""A plain in-memory control plane: the registry's ControlPlane for tests of the registry alone
(the lab wires in labkit.lab.control.EcrBackend)."""

from __future__ import annotations

from labkit.oci.manifest import Manifest


class MemoryControlPlane:
    """A plain in-memory control plane, for unit tests of the registry alone."""

    def __init__(self, repositories: dict[str, bool] | None = None,
                 registry_id: str = "123456789012", blob_mounting: bool = True):
        self.registry_id = registry_id
        self.mounting = blob_mounting  # the registry alone mounts as the OCI spec says
        self.repositories: dict[str, bool] = dict(repositories or {})  # name -> immutable
        self.images: dict[tuple[str, str], set[str]] = {}

    def repository_exists(self, name: str) -> bool:
        return name in self.repositories

    def repository_for_push(self, name: str) -> bool:
        return self.repository_exists(name)

    def blob_mounting(self) -> bool:
        return self.mounting

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
