"""Where a store's records live under its root, and how they are written.

    root/blobs/sha256/<2 hex>/<hex>                        content-addressed bytes
    root/uploads/<uuid>/{data,info}                        unfinished uploads
    root/repositories/<name>/_layers/<hex>                 "this blob was pushed or mounted here"
    root/repositories/<name>/_manifests/revisions/<hex>    media type + push time of a manifest
    root/repositories/<name>/_manifests/tags/<tag>         digest + push time
    root/repositories/<name>/_manifests/pulls              last pull times, appended (pulls.py)
    root/repositories/<name>/_repository.json              the repository's ECR settings

Every path is built from a validated name (registry.names) and checked to stay under the root,
so nothing a client sends can point elsewhere.  Every write goes to a temp file next to its
target and is moved into place with os.replace: readers never see a partial file.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

from .. import errors
from ..names import check_digest, check_name, check_tag
from .changes import remember

REPOSITORY_RECORD = "_repository.json"
SUBDIRS = ("blobs/sha256", "uploads", "repositories", "tmp")


class Files:
    """The paths of one store's records, each validated and kept under `root`."""

    def __init__(self, root: Path):
        self.root = Path(root)
        for sub in SUBDIRS:
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._real_root = self.root.resolve()
        self._repo_dirs: dict[str, Path] = {}  # validated repository directories (hot path)

    @property
    def repositories(self) -> Path:
        return self.root / "repositories"

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    def inside(self, path: Path) -> Path:
        real = path.resolve()
        if real != self._real_root and self._real_root not in real.parents:
            raise errors.NameInvalid(detail={"name": path.name[:300],
                                             "reason": "the path escapes the registry's storage"})
        return path

    def repo_dir(self, name: str) -> Path:
        path = self._repo_dirs.get(name)
        if path is None:
            path = self.inside(self.repositories / check_name(name))
            remember(self._repo_dirs, name, path)
        return path

    def blob(self, digest: str) -> Path:
        hexd = check_digest(digest)
        return self.root / "blobs" / "sha256" / hexd[:2] / hexd

    def layer_link(self, name: str, digest: str) -> Path:
        return self.repo_dir(name) / "_layers" / check_digest(digest)

    def revision(self, name: str, digest: str) -> Path:
        return self.repo_dir(name) / "_manifests" / "revisions" / check_digest(digest)

    def tag(self, name: str, tag: str) -> Path:
        return self.repo_dir(name) / "_manifests" / "tags" / check_tag(tag)

    def tags_dir(self, name: str) -> Path:
        return self.repo_dir(name) / "_manifests" / "tags"

    def pull_log(self, name: str) -> Path:
        return self.repo_dir(name) / "_manifests" / "pulls"

    def revisions_dir(self, name: str) -> Path:
        return self.repo_dir(name) / "_manifests" / "revisions"

    def record(self, name: str) -> Path:
        return self.repo_dir(name) / REPOSITORY_RECORD

    @staticmethod
    def tmp_near(path: Path) -> Path:
        """A temp path in the same directory (same filesystem, so os.replace is atomic)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.parent / f".tmp-{uuid.uuid4().hex}"

    def write_atomic(self, path: Path, data: bytes) -> None:
        tmp = self.tmp_near(path)
        try:
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    def write_json(self, path: Path, doc: Any) -> None:
        self.write_atomic(path, json.dumps(doc, sort_keys=True).encode())

    @staticmethod
    def read_json(path: Path) -> dict | None:
        """A record, or None if it is missing or unreadable (a torn or foreign file)."""
        try:
            doc = json.loads(path.read_bytes())
        except (FileNotFoundError, NotADirectoryError, ValueError):
            return None
        return doc if isinstance(doc, dict) else None

    @staticmethod
    def entries(directory: Path) -> list[Path]:
        """The records in a directory (temp files skipped); none if it does not exist."""
        try:
            return [p for p in directory.iterdir() if not p.name.startswith(".")]
        except (FileNotFoundError, NotADirectoryError):
            return []
