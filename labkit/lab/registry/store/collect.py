"""Garbage: what no image refers to any more, and what a killed lab left half-written.

First, in each repository, layer links no manifest there refers to (the layers of deleted
images) are dropped; then blobs no repository links to are deleted.  Uploads in flight are safe:
a link or blob younger than `min_age_seconds` is never taken, and every use of a blob (HEAD,
GET, mount, manifest check, upload) refreshes its time under the same lock the deletion takes,
so a push that was just told "Layer already exists" still finds the layer when its manifest
arrives.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from ....oci.manifest import ManifestError
from ....oci.manifest import parse as parse_manifest
from .blobs import Blobs
from .changes import Changes
from .files import Files
from .links import Links
from .manifests import Manifests
from .records import Records


class Collector:
    def __init__(self, files: Files, blobs: Blobs, links: Links, manifests: Manifests,
                 records: Records, changes: Changes):
        self.files, self.blobs, self.links = files, blobs, links
        self.manifests, self.records, self.changes = manifests, records, changes

    def garbage(self, min_age_seconds: float = 3600) -> int:
        """Delete what no image refers to; returns how many blobs were removed."""
        cutoff = time.time() - min_age_seconds
        for name in self.records.names():
            self._prune_links(name, cutoff)
        linked: set[str] = set()
        for dirpath, dirnames, filenames in os.walk(self.files.repositories):
            if Path(dirpath).name in ("_layers", "revisions"):
                linked.update(f for f in filenames if not f.startswith("."))
                dirnames[:] = []
        removed = 0
        for path in self.blobs.hexes():
            if path.name in linked:
                continue
            with self.blobs.lock, contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:  # re-read under the lock: not in use
                    path.unlink()
                    removed += 1
        return removed

    def _prune_links(self, name: str, cutoff: float) -> None:
        """Drop this repository's old layer links that none of its manifests refers to."""
        with self.changes.lock(name):
            wanted: set[str] = set()
            for image in self.manifests.images(name):
                wanted.add(image.digest.removeprefix("sha256:"))
                try:
                    refs = parse_manifest(image.raw, image.media_type).references()
                except (ManifestError, RecursionError):  # unreadable: keep all the links
                    return
                wanted.update(d.digest.removeprefix("sha256:") for d in refs)
            for link in self.links.linked(name):
                if link.name in wanted:
                    continue
                with self.blobs.lock, contextlib.suppress(FileNotFoundError):
                    if link.stat().st_mtime < cutoff:
                        try:
                            link.unlink()
                        finally:
                            self.changes.changed(name)

    def leftovers(self, older_than_seconds: float) -> int:
        """Temp files a lab killed between a write and its os.replace left next to blobs,
        links, revisions and tags (readers ignore them, but they take space)."""
        cutoff = time.time() - older_than_seconds
        removed = 0
        for tmp in (self.files.root / "tmp").iterdir():
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink(missing_ok=True)
        for sub in ("blobs", "repositories"):
            for dirpath, _, names in os.walk(self.files.root / sub):
                for f in names:
                    if not f.startswith(".tmp-"):
                        continue
                    path = Path(dirpath) / f
                    with contextlib.suppress(OSError):
                        if path.stat().st_mtime < cutoff:
                            path.unlink()
                            removed += 1
        return removed
