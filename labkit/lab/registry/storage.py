"""Blobs, uploads, manifests and tags on disk, laid out like CNCF Distribution's storage.

    root/blobs/sha256/<2 hex>/<hex>                    content-addressed bytes (layers, configs,
                                                       manifests)
    root/uploads/<uuid>/{data,info}                    unfinished uploads
    root/repositories/<name>/_layers/<hex>             "this blob was pushed or mounted here"
    root/repositories/<name>/_manifests/revisions/<hex>   media type + push time of a manifest
    root/repositories/<name>/_manifests/tags/<tag>     digest + push time
    root/repositories/<name>/_repository.json         the repository's ECR settings (created at,
                                                       tag mutability, scanning, policies, tags)

This is the lab's one store: the registry (`/v2/`) and the ECR API read and write these same
records, so there is nothing to keep in step.

A blob is visible in a repository only through its link there, which is what makes a
cross-repository mount mean something.  Every write goes to a temp file first and is moved into
place with os.replace, so readers never see a partial file; blob bytes are hashed while they
are written and moved into place only when the digest matches.
"""

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...oci import digest as dg
from ...oci import mediatypes as mt
from ...oci.manifest import Manifest
from ...oci.manifest import parse as parse_manifest
from . import errors
from .names import check_digest, check_name, check_tag, check_upload_id, is_name
from .pump import Source, pump

CHUNK = 1 << 20
REPOSITORY_RECORD = "_repository.json"
# A blob in use is re-marked (mtime) at most this often; garbage collection spares anything
# marked within its min age (an hour by default).
TOUCH_EVERY = 60.0
# lastRecordedPullTime is written at most once per this many seconds per image.
PULL_TIME_STEP = 1.0
MEMO_LIMIT = 4096  # entries in each hot-path memo before it starts over
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


class _Session:
    """An upload in progress: its file and the running sha256, so chunks are never re-read."""

    def __init__(self, upload_id: str, name: str, directory: Path, hasher, offset: int):
        self.id = upload_id
        self.name = name
        self.dir = directory
        self.data = directory / "data"
        self.hasher = hasher
        self.offset = offset
        self.lock = threading.Lock()


class Storage:
    """The registry's disk state under one root; safe to share between request threads."""

    def __init__(self, root: Path):
        self.root = Path(root)
        for sub in ("blobs/sha256", "uploads", "repositories", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._real_root = self.root.resolve()
        self._sessions: dict[str, _Session] = {}
        self._sessions_lock = threading.Lock()
        self._repo_locks: dict[str, threading.Lock] = {}
        self._blob_lock = threading.RLock()  # blob use (write, touch, link) vs GC deletion
        # Hot-path memory (a pull asks the same few questions hundreds of times a second, and
        # every system call is a GIL hand-off under load): validated repository directories,
        # names known to have a record, and when each image's pull time was last written.
        self._repo_dirs: dict[str, Path] = {}
        self._known: dict[str, None] = {}
        self._pulls_written: dict[tuple[str, str], float] = {}
        # What a pull reads (tag -> manifest), kept per repository generation: every change to
        # a repository's manifests or tags bumps its generation after the change is on disk,
        # so an entry read before (or during) a change is never used after it.
        self._generations: dict[str, int] = {}
        self._pull_memo: dict[tuple[str, str], tuple[int, StoredImage]] = {}
        # (repository, blob) -> (generation, when checked, size) for blob HEADs: a push asks it
        # for every layer, a pull for every layer it may already hold. Kept at most TOUCH_EVERY
        # seconds, so an in-use blob's garbage-collection mark is still refreshed.
        self._sizes: dict[tuple[str, str], tuple[int, float, int]] = {}

    # ---- paths (every one validated and kept under root) ----

    def _inside(self, path: Path) -> Path:
        real = path.resolve()
        if real != self._real_root and self._real_root not in real.parents:
            raise errors.NameInvalid("path escapes the registry's storage")
        return path

    def _repo_dir(self, name: str) -> Path:
        path = self._repo_dirs.get(name)
        if path is None:
            path = self._inside(self.root / "repositories" / check_name(name))
            self._remember(self._repo_dirs, name, path)
        return path

    @staticmethod
    def _remember(memo: dict, key: Any, value: Any) -> None:
        """Store in a hot-path memo that starts over at MEMO_LIMIT entries, so hostile or
        countless names cannot grow it without bound."""
        if len(memo) >= MEMO_LIMIT:
            memo.clear()
        memo[key] = value

    def blob_path(self, digest: str) -> Path:
        """Where the blob with this digest lives (whether or not it exists)."""
        hexd = check_digest(digest)
        return self.root / "blobs" / "sha256" / hexd[:2] / hexd

    def _layer_link(self, name: str, digest: str) -> Path:
        return self._repo_dir(name) / "_layers" / check_digest(digest)

    def _revision(self, name: str, digest: str) -> Path:
        return self._repo_dir(name) / "_manifests" / "revisions" / check_digest(digest)

    def _tag_path(self, name: str, tag: str) -> Path:
        return self._repo_dir(name) / "_manifests" / "tags" / check_tag(tag)

    def _record_path(self, name: str) -> Path:
        return self._repo_dir(name) / REPOSITORY_RECORD

    def _changed(self, name: str) -> None:
        """A repository's manifests, tags or layer links changed on disk: what was memoized
        is stale."""
        self._generations[name] = self._generations.get(name, 0) + 1

    def _repo_lock(self, name: str) -> threading.Lock:
        with self._sessions_lock:
            return self._repo_locks.setdefault(name, threading.Lock())

    # ---- small atomic file helpers ----

    def _tmp(self, near: Path) -> Path:
        """A temp path in the same directory (same filesystem, so os.replace is atomic)."""
        near.parent.mkdir(parents=True, exist_ok=True)
        return near.parent / f".tmp-{uuid.uuid4().hex}"

    def _write_atomic(self, path: Path, data: bytes) -> None:
        tmp = self._tmp(path)
        try:
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    @staticmethod
    def _read_json(path: Path) -> dict | None:
        try:
            return json.loads(path.read_bytes())
        except (FileNotFoundError, NotADirectoryError, ValueError):
            return None

    # ---- blobs ----

    def blob_size(self, digest: str) -> int | None:
        try:
            return self.blob_path(digest).stat().st_size
        except FileNotFoundError:
            return None

    def repo_blob_size(self, name: str, digest: str) -> int | None:
        """Size of a blob that is visible in this repository, else None.

        The hot path of every push (HEAD per layer) and pull: answered from memory (see
        `_sizes`), so the two `stat`s run at most once a TOUCH_EVERY per blob."""
        hexd = check_digest(digest)
        key = (name, hexd)
        generation = self._generations.get(name, 0)  # before the files are read
        now = time.time()
        hit = self._sizes.get(key)
        if hit is not None and hit[0] == generation and now - hit[1] < TOUCH_EVERY:
            return hit[2]  # a blob's size never changes; only an unlink (a new generation) hides it
        link, blob = self._layer_link(name, digest), self.blob_path(digest)
        try:
            seen = link.stat().st_mtime
        except FileNotFoundError:
            return None
        if now - seen > TOUCH_EVERY:  # in use: not garbage (see garbage_collect)
            self._touch(link, blob)
        try:
            size = blob.stat().st_size
        except FileNotFoundError:
            return None
        self._remember(self._sizes, key, (generation, now, size))
        return size

    def link_blob(self, name: str, digest: str) -> None:
        """Make an existing blob visible in a repository (after a push or a mount)."""
        link = self._layer_link(name, digest)
        with self._blob_lock:  # never between garbage collection's check and its unlink
            blob = self.blob_path(digest)
            with contextlib.suppress(FileNotFoundError):
                os.utime(blob, None)
            if link.exists():
                os.utime(link, None)
            else:
                self._write_atomic(link, digest.encode())

    def unlink_blob(self, name: str, digest: str) -> bool:
        """Forget a blob in one repository (the bytes stay for other repositories)."""
        try:
            self._layer_link(name, digest).unlink()
            return True
        except FileNotFoundError:
            return False
        finally:
            self._changed(name)

    def put_bytes(self, data: bytes) -> str:
        """Store small bytes (a manifest) content-addressed; returns the digest."""
        digest = dg.of_bytes(data)
        path = self.blob_path(digest)
        with self._blob_lock:  # exists-then-use must not straddle a garbage deletion
            if not path.exists():
                self._write_atomic(path, data)
            else:
                os.utime(path, None)
        return digest

    # ---- uploads ----

    def start_upload(self, name: str) -> str:
        """A new upload session for repository `name`; returns its id."""
        check_name(name)
        upload_id = str(uuid.uuid4())
        directory = self.root / "uploads" / upload_id
        directory.mkdir()
        (directory / "data").touch()
        self._write_atomic(directory / "info",
                           json.dumps({"name": name, "started_at": time.time()}).encode())
        with self._sessions_lock:
            self._sessions[upload_id] = _Session(upload_id, name, directory, hashlib.sha256(), 0)
        return upload_id

    def _session(self, name: str, upload_id: str) -> _Session:
        check_upload_id(upload_id)
        with self._sessions_lock:
            session = self._sessions.get(upload_id)
        if session is None:
            session = self._revive(upload_id)
        if session.name != name:
            raise errors.BlobUploadUnknown.of(upload_id)
        return session

    def _revive(self, upload_id: str) -> _Session:
        """After a lab restart the hash state is gone: re-hash the partial file once."""
        directory = self.root / "uploads" / upload_id
        info = self._read_json(directory / "info")
        if info is None or not (directory / "data").is_file() or not is_name(info.get("name", "")):
            raise errors.BlobUploadUnknown.of(upload_id)
        hasher = hashlib.sha256()
        offset = 0
        with open(directory / "data", "rb") as f:
            while block := f.read(CHUNK):
                hasher.update(block)
                offset += len(block)
        with self._sessions_lock:
            return self._sessions.setdefault(
                upload_id, _Session(upload_id, info["name"], directory, hasher, offset))

    def upload_offset(self, name: str, upload_id: str) -> int:
        """How many bytes the upload holds so far."""
        return self._session(name, upload_id).offset

    def append_upload(self, name: str, upload_id: str,
                      source: Source | Iterable[bytes | memoryview],
                      start: int | None = None) -> int:
        """Append a chunk (hashing as it is written); returns the new offset.

        `source` is a request body (see streams.BodyReader) or any iterable of bytes.

        `start` (from Content-Range) must equal the current offset, else RANGE_INVALID.  If the
        body breaks off half way, the file and the hash are rolled back to where they stood.
        """
        session = self._session(name, upload_id)
        with session.lock:
            if upload_id not in self._sessions:
                raise errors.BlobUploadUnknown.of(upload_id)
            if start is not None and start != session.offset:
                raise errors.RangeInvalid(
                    f"chunk starts at {start} but the upload holds {session.offset} bytes")
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

    def finish_upload(self, name: str, upload_id: str, digest: str) -> int:
        """Verify the digest and move the blob into place, linked in `name`; returns its size.

        On a mismatch the upload is cancelled and nothing is stored (DIGEST_INVALID).
        """
        check_digest(digest)
        session = self._session(name, upload_id)
        with session.lock:
            if upload_id not in self._sessions:
                raise errors.BlobUploadUnknown.of(upload_id)
            actual = f"sha256:{session.hasher.hexdigest()}"
            if actual != digest:
                self._drop(session)
                raise errors.DigestInvalid(
                    f"provided digest {digest} did not match uploaded content {actual}",
                    detail={"digest": digest, "actual": actual})
            target = self.blob_path(digest)
            target.parent.mkdir(parents=True, exist_ok=True)
            # Two uploads of the same bytes may both land here: each replace is atomic and the
            # bytes are identical, so both succeed and one blob remains.  Under the blob lock:
            # garbage collection must not unlink the new file it did not check.
            try:
                with self._blob_lock:
                    os.replace(session.data, target)
                    self.link_blob(name, digest)  # may fail on a full disk: the session is spent
            finally:
                self._drop(session)
            return session.offset

    def cancel_upload(self, name: str, upload_id: str) -> None:
        session = self._session(name, upload_id)
        with session.lock:
            self._drop(session)

    def _drop(self, session: _Session) -> None:
        with self._sessions_lock:
            self._sessions.pop(session.id, None)
        shutil.rmtree(session.dir, ignore_errors=True)

    def put_blob(self, name: str, digest: str,
                 source: Source | Iterable[bytes | memoryview]) -> int:
        """A monolithic upload: stream, verify, store; returns the size."""
        check_digest(digest)
        upload_id = self.start_upload(name)
        try:
            self.append_upload(name, upload_id, source)
        except BaseException:
            with contextlib.suppress(errors.RegistryError):
                self.cancel_upload(name, upload_id)
            raise
        return self.finish_upload(name, upload_id, digest)

    def cleanup_uploads(self, older_than_seconds: float) -> int:
        """Remove leftovers of unfinished uploads (and temp files); returns how many went."""
        cutoff = time.time() - older_than_seconds
        removed = 0
        with self._sessions_lock:
            active = set(self._sessions)
        for entry in (self.root / "uploads").iterdir():
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
        for tmp in (self.root / "tmp").iterdir():
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink(missing_ok=True)
        # A lab killed between writing a temp file and its os.replace leaves `.tmp-*` files
        # next to blobs, links, revisions and tags; readers ignore them, but they take space.
        for sub in ("blobs", "repositories"):
            for dirpath, _, files in os.walk(self.root / sub):
                for f in files:
                    if not f.startswith(".tmp-"):
                        continue
                    path = Path(dirpath) / f
                    with contextlib.suppress(OSError):
                        if path.stat().st_mtime < cutoff:
                            path.unlink()
                            removed += 1
        return removed

    # ---- manifests and tags ----

    def missing_references(self, name: str, manifest: Manifest) -> list[str]:
        """Digests the manifest points at that this repository does not hold."""
        missing = []
        if manifest.is_index:
            for d in manifest.manifests:
                if not self._revision(name, d.digest).exists():
                    missing.append(d.digest)
            return missing
        for d in manifest.references():
            if d.media_type in FOREIGN_LAYERS:
                continue
            if self.repo_blob_size(name, d.digest) is None:
                missing.append(d.digest)
        return missing

    def put_manifest(self, name: str, manifest: Manifest, tag: str | None = None,
                     immutable: bool = False, pushed_at: float | None = None) -> StoredImage:
        """Store a manifest (and tag it); TAG_INVALID if `immutable` and the tag exists."""
        check_name(name)
        if tag is not None:
            check_tag(tag)
        pushed_at = time.time() if pushed_at is None else pushed_at
        with self._repo_lock(name):
            if tag is not None and immutable and self._tag_path(name, tag).exists():
                held = self._read_json(self._tag_path(name, tag)) or {}
                raise errors.TagInvalid.immutable(tag, name, held.get("digest"))
            digest = self.put_bytes(manifest.raw)
            revision = self._revision(name, digest)
            existing = self._read_json(revision)
            if existing is None:
                self._pulls_written.pop((name, digest), None)  # a new image: never pulled
                self._write_atomic(revision, json.dumps(
                    {"media_type": manifest.media_type, "pushed_at": pushed_at}).encode())
            else:
                pushed_at = existing.get("pushed_at", pushed_at)
            try:
                if tag is not None:
                    self._write_atomic(self._tag_path(name, tag), json.dumps(
                        {"digest": digest, "pushed_at": time.time()}).encode())
                # The manifest is itself a blob of this repository (spec: GET
                # blobs/<manifest digest>).
                self.link_blob(name, digest)
            finally:
                self._changed(name)
        return StoredImage(name, digest, manifest.media_type, manifest.raw,
                           tuple(self._tags_of(name, digest)), pushed_at)

    def tag_digest(self, name: str, tag: str) -> str | None:
        doc = self._read_json(self._tag_path(name, tag))
        digest = doc.get("digest") if doc else None
        return digest if isinstance(digest, str) and dg.is_digest(digest) else None

    def get_manifest(self, name: str, reference: str, tags: bool = True
                     ) -> StoredImage | None:
        """The manifest a tag or digest names in this repository, or None.

        `tags=False` (a pull) leaves `tags` empty, since finding them reads every tag of the
        repository, and answers from memory while the repository has not changed."""
        if tags:
            return self._load_manifest(name, reference, True)
        key = (name, reference)
        generation = self._generations.get(name, 0)  # read before the files, never after
        hit = self._pull_memo.get(key)
        if hit is not None and hit[0] == generation:
            return hit[1]
        image = self._load_manifest(name, reference, False)
        if image is not None:
            self._remember(self._pull_memo, key, (generation, image))
        return image

    def _load_manifest(self, name: str, reference: str, tags: bool) -> StoredImage | None:
        digest = reference if ":" in reference else self.tag_digest(name, reference)
        if digest is None:
            return None
        doc = self._read_json(self._revision(name, digest))
        if doc is None:
            return None
        try:
            raw = self.blob_path(digest).read_bytes()
        except FileNotFoundError:
            return None
        return StoredImage(name, digest, doc.get("media_type", ""), raw,
                           tuple(self._tags_of(name, digest)) if tags else (),
                           doc.get("pushed_at", 0.0), doc.get("last_pull"))

    def _tag_files(self, name: str) -> list[Path]:
        directory = self._repo_dir(name) / "_manifests" / "tags"
        try:
            return [p for p in directory.iterdir() if not p.name.startswith(".")]
        except FileNotFoundError:
            return []

    def tags(self, name: str) -> list[str]:
        """All tags of a repository, sorted (the order the tags list paginates in)."""
        return sorted(p.name for p in self._tag_files(name))

    def _tag_map(self, name: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for p in self._tag_files(name):
            doc = self._read_json(p)
            if doc and isinstance(doc.get("digest"), str):
                out.setdefault(doc["digest"], []).append(p.name)
        return out

    def _tags_of(self, name: str, digest: str) -> list[str]:
        return sorted(self._tag_map(name).get(digest, []))

    def manifest_digests(self, name: str) -> list[str]:
        directory = self._repo_dir(name) / "_manifests" / "revisions"
        try:
            return sorted(f"sha256:{p.name}" for p in directory.iterdir()
                          if not p.name.startswith("."))
        except FileNotFoundError:
            return []

    def images(self, name: str) -> list[StoredImage]:
        """Every manifest of a repository with its tags, oldest push first."""
        tag_map = self._tag_map(name)
        out = []
        for digest in self.manifest_digests(name):
            doc = self._read_json(self._revision(name, digest))
            try:
                raw = self.blob_path(digest).read_bytes()
            except FileNotFoundError:
                continue
            if doc is None:
                continue
            out.append(StoredImage(name, digest, doc.get("media_type", ""), raw,
                                   tuple(sorted(tag_map.get(digest, []))),
                                   doc.get("pushed_at", 0.0), doc.get("last_pull")))
        return sorted(out, key=lambda i: (i.pushed_at, i.digest))

    def record_pull(self, name: str, digest: str, when: float | None = None) -> None:
        """Remember when a manifest was last pulled (ECR's lastRecordedPullTime).

        Like ECR, which refreshes the time at most so often, a pull within PULL_TIME_STEP
        seconds of the last recorded one is not written again (a busy pull is one write a
        second, not one per manifest GET)."""
        when = time.time() if when is None else when
        key = (name, digest)
        last = self._pulls_written.get(key)
        if last is not None and 0 <= when - last < PULL_TIME_STEP:
            return
        with self._repo_lock(name):
            revision = self._revision(name, digest)
            doc = self._read_json(revision)
            if doc is not None:
                doc["last_pull"] = when
                try:
                    self._write_atomic(revision, json.dumps(doc).encode())
                finally:
                    self._changed(name)
                self._remember(self._pulls_written, key, when)

    def put_tag(self, name: str, tag: str, digest: str) -> None:
        """Point a tag at a manifest already in the repository."""
        with self._repo_lock(name):
            if not self._revision(name, digest).exists():
                raise errors.ManifestUnknown.of(digest, {"digest": digest})
            try:
                self._write_atomic(self._tag_path(name, tag), json.dumps(
                    {"digest": digest, "pushed_at": time.time()}).encode())
            finally:
                self._changed(name)

    def delete_tag(self, name: str, tag: str) -> bool:
        with self._repo_lock(name):
            try:
                self._tag_path(name, tag).unlink()
                return True
            except FileNotFoundError:
                return False
            finally:
                self._changed(name)

    def delete_manifest(self, name: str, digest: str) -> list[str] | None:
        """Remove a manifest and the tags pointing at it; returns those tags (None if absent)."""
        with self._repo_lock(name):
            revision = self._revision(name, digest)
            if not revision.exists():
                return None
            tags = self._tags_of(name, digest)
            try:
                for tag in tags:
                    self._tag_path(name, tag).unlink(missing_ok=True)
                revision.unlink(missing_ok=True)
                self._pulls_written.pop((name, digest), None)
                self.unlink_blob(name, digest)
            finally:
                self._changed(name)
            return tags

    # ---- repository records (the ECR API's settings of a repository) ----

    def repository_record(self, name: str) -> dict | None:
        """The repository's settings, or None if no repository of that name was created."""
        return self._read_json(self._record_path(name))

    def has_repository(self, name: str) -> bool:
        """Whether a repository of that name was created (every registry request asks)."""
        if name in self._known:
            return True
        with self._repo_lock(name):  # not across a delete_repository
            if self.repository_record(name) is None:
                return False
            self._remember(self._known, name, None)
        return True

    def create_repository(self, name: str, record: dict) -> bool:
        """Create the repository's record; False (and nothing written) if it exists already."""
        with self._repo_lock(name):
            path = self._record_path(name)
            if path.exists():
                return False
            self._write_atomic(path, json.dumps(record, sort_keys=True).encode())
            return True

    def update_repository(self, name: str, changes: dict) -> dict | None:
        """Merge `changes` into the record (a None value removes the key); None if absent."""
        with self._repo_lock(name):
            record = self._read_json(self._record_path(name))
            if record is None:
                return None
            for key, value in changes.items():
                if value is None:
                    record.pop(key, None)
                else:
                    record[key] = value
            self._write_atomic(self._record_path(name), json.dumps(record, sort_keys=True).encode())
            return record

    def delete_repository(self, name: str) -> None:
        """Forget a repository (not the repositories nested under its name)."""
        directory = self._repo_dir(name)
        with self._repo_lock(name):
            self._known.pop(name, None)
            self._pulls_written = {k: v for k, v in self._pulls_written.items() if k[0] != name}
            try:
                (directory / REPOSITORY_RECORD).unlink(missing_ok=True)
                for sub in ("_layers", "_manifests"):
                    shutil.rmtree(directory / sub, ignore_errors=True)
            finally:
                self._changed(name)
        with self._sessions_lock:
            doomed = [s for s in self._sessions.values() if s.name == name]
        for session in doomed:
            self._drop(session)
        top = (self.root / "repositories").resolve()
        current = directory.resolve()
        while current != top and top in current.parents:
            try:
                current.rmdir()
            except OSError:
                break
            current = current.parent

    def garbage_collect(self, min_age_seconds: float = 3600) -> int:
        """Delete what no image refers to any more; returns how many blobs were removed.

        First, in each repository, layer links no manifest there refers to (the layers of
        deleted images) are dropped; then blobs no repository links to are deleted.  Uploads
        in flight are safe: a link or blob younger than `min_age_seconds` is never taken, and
        every use of a blob (HEAD, GET, mount, manifest check, upload) refreshes its time under
        the same lock the deletion takes, so a push that was just told "Layer already exists"
        still finds the layer when its manifest arrives.
        """
        cutoff = time.time() - min_age_seconds
        for name in self.repositories():
            self._prune_links(name, cutoff)
        linked: set[str] = set()
        for dirpath, dirnames, filenames in os.walk(self.root / "repositories"):
            if Path(dirpath).name in ("_layers", "revisions"):
                linked.update(f for f in filenames if not f.startswith("."))
                dirnames[:] = []
        removed = 0
        for prefix in (self.root / "blobs" / "sha256").iterdir():
            for path in prefix.iterdir():
                if path.name in linked or path.name.startswith("."):
                    continue
                with self._blob_lock, contextlib.suppress(FileNotFoundError):
                    if path.stat().st_mtime < cutoff:  # re-read under the lock: not in use
                        path.unlink()
                        removed += 1
        return removed

    def _prune_links(self, name: str, cutoff: float) -> None:
        """Drop this repository's old layer links that none of its manifests refers to."""
        with self._repo_lock(name):
            wanted: set[str] = set()
            for image in self.images(name):
                wanted.add(image.digest.removeprefix("sha256:"))
                try:
                    refs = parse_manifest(image.raw, image.media_type).references()
                except Exception:  # noqa: BLE001 - an unreadable manifest keeps all its links
                    return
                wanted.update(d.digest.removeprefix("sha256:") for d in refs)
            layers = self._repo_dir(name) / "_layers"
            try:
                links = [p for p in layers.iterdir() if not p.name.startswith(".")]
            except FileNotFoundError:
                return
            for link in links:
                if link.name in wanted:
                    continue
                with self._blob_lock, contextlib.suppress(FileNotFoundError):
                    if link.stat().st_mtime < cutoff:
                        try:
                            link.unlink()
                        finally:
                            self._changed(name)

    def _touch(self, *paths: Path) -> None:
        """Mark a blob (and its link) as in use now: garbage collection leaves it alone."""
        now = time.time()
        with self._blob_lock:
            for path in paths:
                with contextlib.suppress(FileNotFoundError):
                    os.utime(path, (now, now))

    def repositories(self) -> list[str]:
        """Names of the repositories that have a record or hold anything, sorted."""
        top = self.root / "repositories"
        found = []
        for dirpath, dirnames, filenames in os.walk(top):
            if "_layers" in dirnames or "_manifests" in dirnames or REPOSITORY_RECORD in filenames:
                found.append(Path(dirpath).relative_to(top).as_posix())
            dirnames[:] = [d for d in dirnames if not d.startswith("_")]
        return sorted(n for n in found if is_name(n))
