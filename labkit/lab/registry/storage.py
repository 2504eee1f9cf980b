"""One registry's store: blobs, uploads, manifests, tags and repository records under one root,
laid out like CNCF Distribution's storage (registry/store/files.py draws the tree).

This is the lab's one store: the registry (`/v2/`) and the ECR API read and write these same
records, so there is nothing to keep in step.  `Storage` is the registry's view of it; each
method is answered by the part that holds that kind of record (registry/store/).  Everything it
knows lives in the instance (no module-global state): a registry per (account, region) is one
more `Storage(root)`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from ...oci.manifest import Manifest
from .pump import Source
from .store.blobs import Blobs
from .store.changes import Changes
from .store.collect import Collector
from .store.files import Files
from .store.links import Links
from .store.manifests import FOREIGN_LAYERS, StoredImage
from .store.manifests import Manifests as ManifestRecords
from .store.records import Records
from .store.uploads import Uploads

__all__ = ["FOREIGN_LAYERS", "Storage", "StoredImage"]


class Storage:
    """The registry's disk state under one root; safe to share between request threads."""

    def __init__(self, root: Path):
        self.files = Files(root)
        self.root = self.files.root
        self.changes = Changes()
        self.blobs = Blobs(self.files)
        self.links = Links(self.files, self.blobs, self.changes)
        self.uploads = Uploads(self.files, self.blobs, self.links)
        self.manifests = ManifestRecords(self.files, self.blobs, self.links, self.changes)
        self.records = Records(self.files, self.changes)
        self.collector = Collector(self.files, self.blobs, self.links, self.manifests,
                                   self.records, self.changes)

    # ---- blobs ----
    def blob_path(self, digest: str) -> Path:
        return self.blobs.path(digest)

    def blob_size(self, digest: str) -> int | None:
        return self.blobs.size(digest)

    def put_bytes(self, data: bytes) -> str:
        return self.blobs.put_bytes(data)

    def repo_blob_size(self, name: str, digest: str) -> int | None:
        """Size of a blob visible in this repository (the hot path of push and pull)."""
        return self.links.size(name, digest)

    def link_blob(self, name: str, digest: str) -> None:
        self.links.link(name, digest)

    def unlink_blob(self, name: str, digest: str) -> bool:
        return self.links.unlink(name, digest)

    # ---- uploads ----
    def start_upload(self, name: str) -> str:
        return self.uploads.start(name)

    def upload_offset(self, name: str, upload_id: str) -> int:
        return self.uploads.offset(name, upload_id)

    def append_upload(self, name: str, upload_id: str,
                      source: Source | Iterable[bytes | memoryview],
                      start: int | None = None) -> int:
        return self.uploads.append(name, upload_id, source, start)

    def finish_upload(self, name: str, upload_id: str, digest: str) -> int:
        return self.uploads.finish(name, upload_id, digest)

    def cancel_upload(self, name: str, upload_id: str) -> None:
        self.uploads.cancel(name, upload_id)

    def put_blob(self, name: str, digest: str,
                 source: Source | Iterable[bytes | memoryview]) -> int:
        return self.uploads.put_blob(name, digest, source)

    def cleanup_uploads(self, older_than_seconds: float) -> int:
        """Remove leftovers of unfinished uploads (and temp files); returns how many went."""
        return (self.uploads.cleanup(older_than_seconds)
                + self.collector.leftovers(older_than_seconds))

    # ---- manifests and tags ----
    def missing_references(self, name: str, manifest: Manifest) -> list[str]:
        return self.manifests.missing_references(name, manifest)

    def put_manifest(self, name: str, manifest: Manifest, tag: str | None = None,
                     immutable: bool = False, pushed_at: float | None = None) -> StoredImage:
        return self.manifests.put(name, manifest, tag, immutable, pushed_at)

    def tag_digest(self, name: str, tag: str) -> str | None:
        return self.manifests.tag_digest(name, tag)

    def get_manifest(self, name: str, reference: str, tags: bool = True) -> StoredImage | None:
        return self.manifests.get(name, reference, tags)

    def tags(self, name: str) -> list[str]:
        return self.manifests.tags(name)

    def manifest_digests(self, name: str) -> list[str]:
        return self.manifests.digests(name)

    def images(self, name: str) -> list[StoredImage]:
        return self.manifests.images(name)

    def record_pull(self, name: str, digest: str, when: float | None = None) -> None:
        self.manifests.record_pull(name, digest, when)

    def put_tag(self, name: str, tag: str, digest: str) -> None:
        self.manifests.put_tag(name, tag, digest)

    def delete_tag(self, name: str, tag: str) -> bool:
        return self.manifests.delete_tag(name, tag)

    def delete_manifest(self, name: str, digest: str) -> list[str] | None:
        return self.manifests.delete(name, digest)

    # ---- repositories ----
    def repository_record(self, name: str) -> dict | None:
        return self.records.get(name)

    def repository_settings(self, name: str) -> dict | None:
        """The record as last written, from memory (read-only): the per-request authorization
        reads the repository's policy and tags here."""
        return self.records.latest(name)

    def has_repository(self, name: str) -> bool:
        return self.records.exists(name)

    def create_repository(self, name: str, record: dict) -> bool:
        return self.records.create(name, record)

    def update_repository(self, name: str, changes: dict) -> dict | None:
        return self.records.update(name, changes)

    def repositories(self) -> list[str]:
        return self.records.names()

    def delete_repository(self, name: str) -> None:
        """Forget a repository: its record, manifests, tags, links and uploads in flight (not
        the repositories nested under its name)."""
        directory = self.files.repo_dir(name)
        with self.changes.lock(name):
            self.manifests.forget_repository(name)
            try:
                self.records.forget(name)
                for sub in ("_layers", "_manifests"):
                    shutil.rmtree(directory / sub, ignore_errors=True)
            finally:
                self.changes.changed(name)
        self.uploads.drop_repository(name)
        top = self.files.repositories.resolve()
        current = directory.resolve()
        while current != top and top in current.parents:
            try:
                current.rmdir()
            except OSError:
                break
            current = current.parent

    def garbage_collect(self, min_age_seconds: float = 3600) -> int:
        return self.collector.garbage(min_age_seconds)
