"""Content-addressed bytes: every layer, config and manifest once, under its sha256.

A blob in use is re-marked (its mtime) when it is used, under the same lock garbage collection
takes before it deletes, so a blob a push was just told exists is never collected under it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

from ....oci import digest as dg
from .files import Files


class Blobs:
    def __init__(self, files: Files):
        self.files = files
        self.lock = threading.RLock()  # blob use (write, touch, link) vs garbage deletion

    def path(self, digest: str) -> Path:
        """Where the blob with this digest lives (whether or not it exists)."""
        return self.files.blob(digest)

    def size(self, digest: str) -> int | None:
        try:
            return self.path(digest).stat().st_size
        except FileNotFoundError:
            return None

    def put_bytes(self, data: bytes) -> str:
        """Store small bytes (a manifest) content-addressed; returns the digest."""
        digest = dg.of_bytes(data)
        path = self.path(digest)
        with self.lock:  # exists-then-use must not straddle a garbage deletion
            if not path.exists():
                self.files.write_atomic(path, data)
            else:
                os.utime(path, None)
        return digest

    def place(self, source: Path, digest: str) -> None:
        """Move a verified upload into place.  Two uploads of the same bytes may both land
        here: each replace is atomic and the bytes are identical, so one blob remains.  The
        caller holds `lock`: garbage collection must not unlink a file it did not check."""
        target = self.path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)

    def touch(self, *paths: Path) -> None:
        """Mark a blob (and its link) as in use now: garbage collection leaves it alone."""
        now = time.time()
        with self.lock:
            for path in paths:
                with contextlib.suppress(FileNotFoundError):
                    os.utime(path, (now, now))

    def hexes(self) -> list[Path]:
        """Every stored blob's file (for garbage collection)."""
        top = self.files.root / "blobs" / "sha256"
        return [path for prefix in Files.entries(top) for path in Files.entries(prefix)]
