"""The ECR settings of each repository (created at, tag mutability, scanning, policies, tags):
one JSON record per repository, next to its manifests.  A repository exists when it has one."""

from __future__ import annotations

import os
from pathlib import Path

from ..names import is_name
from .changes import Changes, remember
from .files import REPOSITORY_RECORD, Files


class Records:
    def __init__(self, files: Files, changes: Changes):
        self.files, self.changes = files, changes
        self._known: dict[str, None] = {}  # names known to have a record (every request asks)
        # records as last read or written: the lab's one process is the only writer, and every
        # registry request's authorization reads the repository's policy and tags
        self._latest: dict[str, dict | None] = {}

    def get(self, name: str) -> dict | None:
        """The repository's settings, or None if no repository of that name was created."""
        return Files.read_json(self.files.record(name))

    def latest(self, name: str) -> dict | None:
        """The record as this process last read or wrote it (do not change it): what a
        request's authorization reads (policy, tags) without a file read per request."""
        try:
            return self._latest[name]
        except KeyError:
            pass
        with self.changes.lock(name):
            record = self.get(name)
            remember(self._latest, name, record)
        return record

    def exists(self, name: str) -> bool:
        if name in self._known:
            return True
        with self.changes.lock(name):  # not across a delete_repository
            if self.get(name) is None:
                return False
            remember(self._known, name, None)
        return True

    def create(self, name: str, record: dict) -> bool:
        """Create the record; False (and nothing written) if it exists already."""
        with self.changes.lock(name):
            path = self.files.record(name)
            if path.exists():
                return False
            self.files.write_json(path, record)
            self._latest.pop(name, None)
            return True

    def update(self, name: str, changes: dict) -> dict | None:
        """Merge `changes` into the record (a None value removes the key); None if absent."""
        with self.changes.lock(name):
            record = self.get(name)
            if record is None:
                return None
            for key, value in changes.items():
                if value is None:
                    record.pop(key, None)
                else:
                    record[key] = value
            self.files.write_json(self.files.record(name), record)
            self._latest.pop(name, None)
            return record

    def forget(self, name: str) -> None:
        """Drop the record (the caller holds the repository's lock)."""
        self._known.pop(name, None)
        self.files.record(name).unlink(missing_ok=True)
        self._latest.pop(name, None)

    def names(self) -> list[str]:
        """Names of the repositories that have a record or hold anything, sorted."""
        top = self.files.repositories
        found = []
        for dirpath, dirnames, filenames in os.walk(top):
            if "_layers" in dirnames or "_manifests" in dirnames or REPOSITORY_RECORD in filenames:
                found.append(Path(dirpath).relative_to(top).as_posix())
            dirnames[:] = [d for d in dirnames if not d.startswith("_")]
        return sorted(n for n in found if is_name(n))
