"""An in-memory ECR backend with just what the lifecycle runner needs."""

from __future__ import annotations

import threading

from labkit.lab.control.lifecycle import ImageFacts


class FakeLifecycleBackend:
    """Repositories of ImageFacts plus stored policy texts; records every expiry call."""

    def __init__(self) -> None:
        self.images: dict[str, list[ImageFacts]] = {}
        self.policies: dict[str, str] = {}
        self.expired_calls: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()

    def add(self, repository: str, digest: str, tags: list[str], pushed_at: float) -> None:
        with self.lock:
            self.images.setdefault(repository, []).append(
                ImageFacts(digest, list(tags), pushed_at, 1000))

    def lifecycle_policies(self) -> dict[str, str]:
        return dict(self.policies)

    def images_for_lifecycle(self, repository: str) -> list[ImageFacts]:
        with self.lock:
            return list(self.images.get(repository, []))

    def expire_images(self, repository: str, digests: list[str]) -> None:
        with self.lock:
            self.expired_calls.append((repository, list(digests)))
            self.images[repository] = [i for i in self.images[repository]
                                       if i.digest not in digests]

    def digests(self, repository: str) -> list[str]:
        return [i.digest for i in self.images_for_lifecycle(repository)]
