"""Unfinished uploads: a file per upload, hashed while it is written, moved into place as a blob
only when the digest matches; nothing partial is ever visible in a repository."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import errors
from ..names import check_digest, check_name, check_upload_id, is_name
from ..pump import Source, pump
from .blobs import Blobs
from .files import Files
from .links import Links

CHUNK = 1 << 20


class Session:
    """An upload in progress: its file and the running sha256, so chunks are never re-read."""

    def __init__(self, upload_id: str, name: str, directory: Path, hasher: Any, offset: int):
        self.id = upload_id
        self.name = name
        self.dir = directory
        self.data = directory / "data"
        self.hasher = hasher
        self.offset = offset
        self.lock = threading.Lock()


class Uploads:
    def __init__(self, files: Files, blobs: Blobs, links: Links):
        self.files, self.blobs, self.links = files, blobs, links
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def start(self, name: str) -> str:
        """A new upload session for repository `name`; returns its id."""
        check_name(name)
        upload_id = str(uuid.uuid4())
        directory = self.files.uploads / upload_id
        directory.mkdir()
        (directory / "data").touch()
        self.files.write_atomic(directory / "info",
                                json.dumps({"name": name, "started_at": time.time()}).encode())
        with self._lock:
            self._sessions[upload_id] = Session(upload_id, name, directory, hashlib.sha256(), 0)
        return upload_id

    def _session(self, name: str, upload_id: str) -> Session:
        check_upload_id(upload_id)
        with self._lock:
            session = self._sessions.get(upload_id)
        if session is None:
            session = self._revive(upload_id)
        if session.name != name:
            raise errors.BlobUploadUnknown.of(upload_id)
        return session

    def _revive(self, upload_id: str) -> Session:
        """After a lab restart the hash state is gone: re-hash the partial file once."""
        directory = self.files.uploads / upload_id
        info = Files.read_json(directory / "info")
        if info is None or not (directory / "data").is_file() or not is_name(info.get("name", "")):
            raise errors.BlobUploadUnknown.of(upload_id)
        hasher = hashlib.sha256()
        offset = 0
        with open(directory / "data", "rb") as f:
            while block := f.read(CHUNK):
                hasher.update(block)
                offset += len(block)
        with self._lock:
            return self._sessions.setdefault(
                upload_id, Session(upload_id, info["name"], directory, hasher, offset))

    def offset(self, name: str, upload_id: str) -> int:
        """How many bytes the upload holds so far."""
        return self._session(name, upload_id).offset

    def append(self, name: str, upload_id: str, source: Source | Iterable[bytes | memoryview],
               start: int | None = None) -> int:
        """Append a chunk (hashing as it is written); returns the new offset.

        `start` (from Content-Range) must equal the current offset, else ECR's out-of-order
        refusal.  If the body breaks off half way, the file and the hash are rolled back."""
        session = self._session(name, upload_id)
        with session.lock:
            if upload_id not in self._sessions:
                raise errors.BlobUploadUnknown.of(upload_id)
            if start is not None and start != session.offset:
                raise errors.ChunkOutOfOrder(start, session.offset)
            before, saved = session.offset, session.hasher.copy()
            try:
                with open(session.data, "r+b", buffering=0) as f:
                    f.seek(before)
                    written = pump(source, session.hasher, f)
            except BaseException:
                session.hasher = saved
                with contextlib.suppress(OSError):
                    os.truncate(session.data, before)
                raise
            session.offset = before + written
            return session.offset

    def finish(self, name: str, upload_id: str, digest: str) -> int:
        """Verify the digest and move the blob into place, linked in `name`; returns its size.

        On a mismatch the upload is cancelled and nothing is stored."""
        check_digest(digest)
        session = self._session(name, upload_id)
        with session.lock:
            if upload_id not in self._sessions:
                raise errors.BlobUploadUnknown.of(upload_id)
            actual = f"sha256:{session.hasher.hexdigest()}"
            if actual != digest:
                self._drop(session)
                raise errors.UploadDigestMismatch(digest, actual)
            try:
                with self.blobs.lock:
                    self.blobs.place(session.data, digest)
                    self.links.link(name, digest)  # may fail on a full disk: the session is spent
            finally:
                self._drop(session)
            return session.offset

    def cancel(self, name: str, upload_id: str) -> None:
        session = self._session(name, upload_id)
        with session.lock:
            self._drop(session)

    def _drop(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session.id, None)
        shutil.rmtree(session.dir, ignore_errors=True)

    def put_blob(self, name: str, digest: str,
                 source: Source | Iterable[bytes | memoryview]) -> int:
        """A monolithic upload: stream, verify, store; returns the size."""
        check_digest(digest)
        upload_id = self.start(name)
        try:
            self.append(name, upload_id, source)
        except BaseException:
            with contextlib.suppress(errors.RegistryError):
                self.cancel(name, upload_id)
            raise
        return self.finish(name, upload_id, digest)

    def drop_repository(self, name: str) -> None:
        """A repository was deleted: its uploads in flight go with it."""
        with self._lock:
            doomed = [s for s in self._sessions.values() if s.name == name]
        for session in doomed:
            self._drop(session)

    def cleanup(self, older_than_seconds: float) -> int:
        """Remove unfinished uploads untouched for that long; returns how many went."""
        cutoff = time.time() - older_than_seconds
        removed = 0
        with self._lock:
            active = set(self._sessions)
        for entry in self.files.uploads.iterdir():
            if entry.name in active:
                continue
            try:
                newest = max(p.stat().st_mtime for p in [entry, *entry.iterdir()])
            except (OSError, ValueError):
                newest = 0.0
            if newest < cutoff:
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                removed += 1
        return removed
