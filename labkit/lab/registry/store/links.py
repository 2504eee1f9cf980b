"""Which blobs a repository holds: a link per blob pushed or mounted there.

A blob is visible in a repository only through its link, which is what makes a cross-repository
mount mean something (and, with accounts, what keeps one registry's blobs out of another's).
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from ..names import check_digest
from .blobs import Blobs
from .changes import Changes, remember
from .files import Files

# A blob in use is re-marked (mtime) at most this often; garbage collection spares anything
# marked within its min age (an hour by default).
TOUCH_EVERY = 60.0


class Links:
    def __init__(self, files: Files, blobs: Blobs, changes: Changes):
        self.files, self.blobs, self.changes = files, blobs, changes
        # (repository, blob) -> (generation, when checked, size) for blob HEADs: a push asks it
        # for every layer, a pull for every layer it may already hold.  Kept at most
        # TOUCH_EVERY seconds, so an in-use blob's garbage-collection mark is still refreshed.
        self._sizes: dict[tuple[str, str], tuple[int, float, int]] = {}

    def size(self, name: str, digest: str) -> int | None:
        """Size of a blob that is visible in this repository, else None.

        The hot path of every push (HEAD per layer) and pull: answered from memory, so the two
        `stat`s run at most once a TOUCH_EVERY per blob."""
        hexd = check_digest(digest)
        key = (name, hexd)
        generation = self.changes.generation(name)  # before the files are read
        now = time.time()
        hit = self._sizes.get(key)
        if hit is not None and hit[0] == generation and now - hit[1] < TOUCH_EVERY:
            return hit[2]  # a blob's size never changes; only an unlink (a new generation) hides it
        link, blob = self.files.layer_link(name, digest), self.blobs.path(digest)
        try:
            seen = link.stat().st_mtime
        except FileNotFoundError:
            return None
        if now - seen > TOUCH_EVERY:  # in use: not garbage (see collect)
            self.blobs.touch(link, blob)
        try:
            size = blob.stat().st_size
        except FileNotFoundError:
            return None
        remember(self._sizes, key, (generation, now, size))
        return size

    def link(self, name: str, digest: str) -> None:
        """Make an existing blob visible in a repository (after a push or a mount)."""
        link = self.files.layer_link(name, digest)
        with self.blobs.lock:  # never between garbage collection's check and its unlink
            with contextlib.suppress(FileNotFoundError):
                os.utime(self.blobs.path(digest), None)
            if link.exists():
                os.utime(link, None)
            else:
                self.files.write_atomic(link, digest.encode())

    def unlink(self, name: str, digest: str) -> bool:
        """Forget a blob in one repository (the bytes stay for other repositories)."""
        try:
            self.files.layer_link(name, digest).unlink()
            return True
        except FileNotFoundError:
            return False
        finally:
            self.changes.changed(name)

    def linked(self, name: str) -> list[Path]:
        """The links of this repository (each named by its blob's hex digest)."""
        return Files.entries(self.files.repo_dir(name) / "_layers")
