"""The ECR control plane's state: moto's ECR backend, kept in step with the registry's storage.

The registry's storage is the source of truth for images and tags (it holds the bytes); moto holds
repositories and their settings. Repositories are saved to `control.json` after every change and
both are replayed into moto at start, so a restart of the lab loses nothing.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moto.ecr import models as ecr_models

from ...oci.manifest import Manifest
from ...oci.manifest import parse as parse_manifest
from ..registry.storage import Storage

log = logging.getLogger("labkit.lab.control")


class EcrControlPlane:
    """moto's ECR backend for one account and region, as the registry's ControlPlane."""

    def __init__(self, storage: Storage, state_file: Path, account_id: str, region: str):
        self.storage = storage
        self.state_file = state_file
        self.registry_id = account_id
        self.region = region
        self.lock = threading.RLock()

    @property
    def backend(self) -> Any:
        return ecr_models.ecr_backends[self.registry_id][self.region]

    # --- what the registry asks -------------------------------------------------------------
    def repository_exists(self, name: str) -> bool:
        return name in self.backend.repositories

    def tags_immutable(self, name: str) -> bool:
        repo = self.backend.repositories.get(name)
        return bool(repo and repo.is_tag_immutable())

    def image_pushed(self, name: str, manifest: Manifest, tag: str | None,
                     pushed_at: float) -> None:
        with self.lock:
            repo = self.backend.repositories.get(name)
            if repo is None:  # deleted while the push ran: load() drops its stored images at the next start
                return
            self._register(repo, manifest.raw.decode(), manifest.media_type, manifest.digest,
                           tag, pushed_at)

    def image_deleted(self, name: str, digest: str) -> None:
        with self.lock:
            repo = self.backend.repositories.get(name)
            if repo is not None:
                repo.images = [i for i in repo.images if i.image_digest != digest]

    def tag_deleted(self, name: str, tag: str) -> None:
        with self.lock:
            repo = self.backend.repositories.get(name)
            if repo is not None:
                for img in repo.images:
                    _drop_tag(img, tag)

    # --- bookkeeping ------------------------------------------------------------------------
    def _register(self, repo: Any, raw: str, media_type: str, digest: str, tag: str | None,
                  pushed_at: float) -> None:
        image = next((i for i in repo.images if i.image_digest == digest), None)
        if image is None:
            image = ecr_models.Image(self.registry_id, tag, raw, repo.name, media_type, digest)
            image.image_pushed_at = int(pushed_at)
            if tag is None:
                image.image_tags = []
            repo.images.append(image)
        if tag:
            for other in repo.images:
                if other is not image:
                    _drop_tag(other, tag)
            image.update_tag(tag)

    def save(self) -> None:
        """Write the repositories and their settings (atomically) so a restart keeps them."""
        with self.lock:
            repos = []
            for repo in self.backend.repositories.values():
                repos.append({
                    "name": repo.name,
                    "created_at": repo.created_at.timestamp() if isinstance(
                        repo.created_at, datetime) else float(repo.created_at),
                    "image_tag_mutability": repo.image_tag_mutability,
                    "image_scanning_configuration": repo.image_scanning_configuration,
                    "encryption_configuration": repo.encryption_configuration,
                    "policy": repo.policy,
                    "lifecycle_policy": repo.lifecycle_policy,
                    "tags": self.backend.tagger.list_tags_for_resource(repo.arn).get("tags", []),
                })
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"repositories": repos}, indent=1, sort_keys=True))
            os.replace(tmp, self.state_file)

    def load(self) -> None:
        """Recreate saved repositories in moto, then replay the stored images and tags."""
        with self.lock:
            try:
                state = json.loads(self.state_file.read_text())
            except FileNotFoundError:
                state = {"repositories": []}
            known = set()
            for r in state.get("repositories", []):
                name = r["name"]
                known.add(name)
                if name in self.backend.repositories:
                    continue
                repo = self.backend.create_repository(
                    repository_name=name, registry_id=None,
                    encryption_config=r.get("encryption_configuration"),
                    image_scan_config=r.get("image_scanning_configuration"),
                    image_tag_mutability=r.get("image_tag_mutability"),
                    tags=r.get("tags") or [])
                repo.created_at = datetime.fromtimestamp(r["created_at"], tz=UTC)
                repo.policy = r.get("policy")
                repo.lifecycle_policy = r.get("lifecycle_policy")
            for name in self.storage.repositories():
                repo = self.backend.repositories.get(name)
                if repo is None:
                    # Images of a repository deleted while the lab was down: drop them.
                    log.info("dropping stored images of unknown repository %s", name)
                    self.storage.delete_repository(name)
                    continue
                for img in sorted(self.storage.images(name), key=lambda i: i.pushed_at):
                    tags = sorted(img.tags) or [None]
                    for tag in tags:
                        self._register(repo, img.raw.decode(), img.media_type, img.digest, tag,
                                       img.pushed_at)

    def sync_storage(self, name: str | None) -> None:
        """After an API call changed images (PutImage, BatchDeleteImage, DeleteRepository), make
        the registry's storage agree with moto: same images, same tags."""
        with self.lock:
            names = [name] if name else self.storage.repositories()
            for repo_name in names:
                repo = self.backend.repositories.get(repo_name)
                if repo is None:
                    self.storage.delete_repository(repo_name)
                    continue
                wanted = {i.image_digest: set(i.image_tags) for i in repo.images}
                stored = {i.digest: i for i in self.storage.images(repo_name)}
                for digest, img in stored.items():
                    if digest not in wanted:
                        self.storage.delete_manifest(repo_name, digest)
                        continue
                    for tag in set(img.tags) - wanted[digest]:
                        self.storage.delete_tag(repo_name, tag)
                for image in repo.images:
                    digest = image.image_digest
                    if digest not in stored:
                        raw = image.image_manifest.encode()
                        self.storage.put_manifest(
                            repo_name, parse_manifest(raw, image.image_manifest_media_type),
                            pushed_at=float(image.image_pushed_at))
                    have = set(stored[digest].tags) if digest in stored else set()
                    for tag in set(image.image_tags) - have:
                        self.storage.put_tag(repo_name, tag, digest)


def _drop_tag(image: Any, tag: str) -> None:
    if tag in image.image_tags:
        image.image_tags.remove(tag)
        image.image_tag = image.image_tags[-1] if image.image_tags else None
