"""Manifests and tags of each repository: a revision record per manifest (its media type, push
time, last pull), a tag record per tag (its digest); the bytes are blobs.  What a pull reads
(tag -> manifest) is answered from memory while the repository has not changed; when each
image was last pulled is kept apart, in `pulls` (a pull changes nothing a pull reads)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

from ....oci import digest as dg
from ....oci import mediatypes as mt
from ....oci.manifest import Manifest
from .. import errors
from ..names import check_name, check_tag
from .blobs import Blobs
from .changes import Changes, remember
from .files import Files
from .links import Links
from .pulls import PullTimes

# Layers a registry never holds (Docker's foreign layers, OCI non-distributable ones).
FOREIGN_LAYERS = frozenset({
    mt.DOCKER_FOREIGN_LAYER,
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
})


@dataclass(frozen=True)
class StoredImage:
    """A manifest as stored in one repository: what the control plane reports as an image."""

    repository: str
    digest: str
    media_type: str
    raw: bytes
    tags: tuple[str, ...]
    pushed_at: float
    last_pull: float | None = None
    translated_from: str | None = None  # served translated: the digest of what is stored


class Manifests:
    def __init__(self, files: Files, blobs: Blobs, links: Links, changes: Changes):
        self.files, self.blobs, self.links, self.changes = files, blobs, links, changes
        self.pulls = PullTimes(files, changes)
        self._pull_memo: dict[tuple[str, str], tuple[int, StoredImage]] = {}

    # ---- writes ----

    def missing_references(self, name: str, manifest: Manifest) -> list[str]:
        """Digests the manifest points at that this repository does not hold."""
        if manifest.is_index:
            return [d.digest for d in manifest.manifests
                    if not self.files.revision(name, d.digest).exists()]
        return [d.digest for d in manifest.references()
                if d.media_type not in FOREIGN_LAYERS and self.links.size(name, d.digest) is None]

    def put(self, name: str, manifest: Manifest, tag: str | None = None,
            immutable: bool = False, pushed_at: float | None = None) -> StoredImage:
        """Store a manifest (and tag it); TAG_INVALID if `immutable` and the tag exists."""
        check_name(name)
        if tag is not None:
            check_tag(tag)
        pushed_at = time.time() if pushed_at is None else pushed_at
        with self.changes.lock(name):
            if tag is not None and immutable and self.files.tag(name, tag).exists():
                held = Files.read_json(self.files.tag(name, tag)) or {}
                raise errors.TagInvalid.immutable(tag, name, held.get("digest"))
            digest = self.blobs.put_bytes(manifest.raw)
            revision = self.files.revision(name, digest)
            existing = Files.read_json(revision)
            if existing is None:
                self.pulls.reset(name, digest)  # a new image: never pulled
                self.files.write_atomic(revision, json.dumps(
                    {"media_type": manifest.media_type, "pushed_at": pushed_at}).encode())
            else:
                pushed_at = existing.get("pushed_at", pushed_at)
            try:
                if tag is not None:
                    self._write_tag(name, tag, digest)
                # The manifest is itself a blob of this repository (spec: GET
                # blobs/<manifest digest>).
                self.links.link(name, digest)
            finally:
                self.changes.changed(name)
        return StoredImage(name, digest, manifest.media_type, manifest.raw,
                           tuple(self.tags_of(name, digest)), pushed_at)

    def _write_tag(self, name: str, tag: str, digest: str) -> None:
        self.files.write_atomic(self.files.tag(name, tag), json.dumps(
            {"digest": digest, "pushed_at": time.time()}).encode())

    def put_tag(self, name: str, tag: str, digest: str) -> None:
        """Point a tag at a manifest already in the repository."""
        with self.changes.lock(name):
            if not self.files.revision(name, digest).exists():
                raise errors.ManifestUnknown.of(digest, {"digest": digest})
            try:
                self._write_tag(name, tag, digest)
            finally:
                self.changes.changed(name)

    def delete_tag(self, name: str, tag: str) -> bool:
        with self.changes.lock(name):
            try:
                self.files.tag(name, tag).unlink()
                return True
            except FileNotFoundError:
                return False
            finally:
                self.changes.changed(name)

    def delete(self, name: str, digest: str) -> list[str] | None:
        """Remove a manifest and the tags pointing at it; returns those tags (None if absent)."""
        with self.changes.lock(name):
            revision = self.files.revision(name, digest)
            if not revision.exists():
                return None
            tags = self.tags_of(name, digest)
            try:
                for tag in tags:
                    self.files.tag(name, tag).unlink(missing_ok=True)
                revision.unlink(missing_ok=True)
                self.links.unlink(name, digest)
            finally:
                self.changes.changed(name)
            return tags

    def record_pull(self, name: str, digest: str, when: float | None = None) -> None:
        """Remember when a manifest was last pulled (ECR's lastRecordedPullTime).

        Like ECR, which refreshes the time at most so often, a pull within pulls.PULL_TIME_STEP
        seconds of the last recorded one is not recorded again.  The time goes to the
        repository's pull log (store/pulls.py), not the revision record: a pull changes
        nothing the pull memo depends on."""
        self.pulls.record(name, digest, time.time() if when is None else when)

    def forget_repository(self, name: str) -> None:
        self.pulls.forget(name)

    # ---- reads ----

    def tag_digest(self, name: str, tag: str) -> str | None:
        doc = Files.read_json(self.files.tag(name, tag))
        digest = doc.get("digest") if doc else None
        return digest if isinstance(digest, str) and dg.is_digest(digest) else None

    def get(self, name: str, reference: str, tags: bool = True) -> StoredImage | None:
        """The manifest a tag or digest names in this repository, or None.

        `tags=False` (a pull) leaves `tags` empty, since finding them reads every tag of the
        repository, and answers from memory while the repository has not changed."""
        if tags:
            return self._load(name, reference, True)
        key = (name, reference)
        generation = self.changes.generation(name)  # read before the files, never after
        hit = self._pull_memo.get(key)
        if hit is not None and hit[0] == generation:
            image = hit[1]
            pulled = self.pulls.known(name, image.digest)  # pulls do not change the generation
            return (replace(image, last_pull=pulled) if self.pulls.changed(pulled, image.last_pull)
                    else image)
        image = self._load(name, reference, False)
        if image is not None:
            remember(self._pull_memo, key, (generation, image))
        return image

    def _load(self, name: str, reference: str, tags: bool) -> StoredImage | None:
        digest = reference if ":" in reference else self.tag_digest(name, reference)
        if digest is None:
            return None
        return self._image(name, digest, self.tags_of(name, digest) if tags else [])

    def _image(self, name: str, digest: str, tags: list[str]) -> StoredImage | None:
        doc = Files.read_json(self.files.revision(name, digest))
        if doc is None:
            return None
        try:
            raw = self.blobs.path(digest).read_bytes()
        except FileNotFoundError:
            return None
        return StoredImage(name, digest, doc.get("media_type", ""), raw, tuple(sorted(tags)),
                           doc.get("pushed_at", 0.0),
                           self.pulls.last(name, digest, doc.get("last_pull")))

    def _tag_files(self, name: str) -> list[Path]:
        return Files.entries(self.files.tags_dir(name))

    def tags(self, name: str) -> list[str]:
        """All tags of a repository, sorted (the order the tags list paginates in)."""
        return sorted(p.name for p in self._tag_files(name))

    def tag_map(self, name: str) -> dict[str, list[str]]:
        """Digest -> the tags pointing at it."""
        out: dict[str, list[str]] = {}
        for p in self._tag_files(name):
            doc = Files.read_json(p)
            if doc and isinstance(doc.get("digest"), str):
                out.setdefault(doc["digest"], []).append(p.name)
        return out

    def tags_of(self, name: str, digest: str) -> list[str]:
        return sorted(self.tag_map(name).get(digest, []))

    def digests(self, name: str) -> list[str]:
        return sorted(f"sha256:{p.name}" for p in Files.entries(self.files.revisions_dir(name)))

    def images(self, name: str) -> list[StoredImage]:
        """Every manifest of a repository with its tags, oldest push first."""
        tag_map = self.tag_map(name)
        found = (self._image(name, digest, tag_map.get(digest, []))
                 for digest in self.digests(name))
        return sorted((i for i in found if i is not None), key=lambda i: (i.pushed_at, i.digest))
