"""The built-in engine's local image store: an OCI image layout on disk.

Layout: `oci-layout`, `index.json` (one entry per reference, named by the
`org.opencontainers.image.ref.name` annotation) and `blobs/sha256/<hex>`. Blobs are written to
`tmp/` while hashed and renamed into place only when complete and verified, and index.json is
replaced atomically under a lock, so a crash or a failed pull never leaves a half-written blob
or reference visible.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ... import config
from ...oci import digest as dg
from ...oci import manifest as mf
from ...oci import mediatypes as mt
from ..base import EngineError, LocalImage
from . import refs

REF_ANNOTATION = "org.opencontainers.image.ref.name"


def default_home(lab_home: Path | None = None) -> Path:
    """LABKIT_ENGINE_HOME, else `engine/` inside the lab's home (default LABKIT_HOME)."""
    env = os.environ.get("LABKIT_ENGINE_HOME")
    if env:
        return Path(env).expanduser().resolve()
    return (Path(lab_home) if lab_home is not None else config.home()) / "engine"


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write to a sibling temp file, fsync, then rename: readers see old or new, never half."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class BlobWriter:
    """A blob being written: bytes go to a temp file and a hash; `commit` verifies and publishes."""

    def __init__(self, store: Store):
        self.store = store
        self.path = store.tmp / f"{uuid.uuid4().hex}.part"
        self._f: BinaryIO = open(self.path, "wb")  # noqa: SIM115 - closed in commit/abort
        self._h = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._f.write(data)
        self._h.update(data)
        self.size += len(data)
        return len(data)

    def truncate(self) -> None:
        """Start over (the server ignored our Range and sent the whole blob)."""
        self._f.seek(0)
        self._f.truncate()
        self._h = hashlib.sha256()
        self.size = 0

    @property
    def digest(self) -> str:
        return f"sha256:{self._h.hexdigest()}"

    def commit(self, expected: str | None = None, size: int | None = None) -> str:
        """Publish the blob if it matches `expected` (and `size`); otherwise discard it."""
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()
        got = self.digest
        if (expected and got != expected) or (size is not None and size != self.size):
            self.abort()
            raise EngineError(
                f"digest mismatch: expected {expected} ({size} bytes), "
                f"received {got} ({self.size} bytes)",
                hint="the data was corrupted in transit or the registry is wrong; nothing "
                     "was stored, try again")
        target = self.store.blob_path(got)
        os.replace(self.path, target)
        return got

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._f.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


@dataclass(frozen=True)
class StoredImage:
    """An image resolved from the store: its manifest and parsed config."""

    ref: str
    manifest: mf.Manifest
    config: dict[str, Any]

    @property
    def descriptor(self) -> mf.Descriptor:
        return mf.Descriptor(self.manifest.media_type, self.manifest.digest, len(self.manifest.raw))


class Store:
    """The OCI layout under the engine home; safe for concurrent use by several processes."""

    def __init__(self, home: str | Path | None = None):
        self.root = Path(home).expanduser().resolve() if home else default_home()
        self.blobs = self.root / "blobs" / "sha256"
        self.tmp = self.root / "tmp"
        self.index_path = self.root / "index.json"
        self.sources_path = self.root / "sources.json"
        for d in (self.blobs, self.tmp):
            d.mkdir(parents=True, exist_ok=True)
        layout = self.root / "oci-layout"
        if not layout.exists():
            write_atomic(layout, mf.canonical_json({"imageLayoutVersion": "1.0.0"}))

    # -- locking --------------------------------------------------------------------------
    @contextlib.contextmanager
    def _flock(self, name: str, kind: int) -> Iterator[bool]:
        fd = os.open(self.root / name, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, kind)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # closing releases the lock

    def lock(self) -> contextlib.AbstractContextManager[bool]:
        """Exclusive lock for read-modify-write of index.json and sources.json."""
        return self._flock(".lock", fcntl.LOCK_EX)

    def busy(self) -> contextlib.AbstractContextManager[bool]:
        """Held (shared) while a build or pull writes blobs not yet referenced by index.json."""
        return self._flock(".gc", fcntl.LOCK_SH)

    # -- blobs ----------------------------------------------------------------------------
    def blob_path(self, digest: str) -> Path:
        return self.blobs / dg.parse(digest)

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def read_blob(self, digest: str) -> bytes:
        try:
            return self.blob_path(digest).read_bytes()
        except FileNotFoundError:
            raise EngineError(f"blob {digest} is missing from the local store",
                              hint="pull or build the image again") from None

    def writer(self) -> BlobWriter:
        return BlobWriter(self)

    def put_bytes(self, data: bytes, expected: str | None = None) -> str:
        d = dg.of_bytes(data)
        if expected and d != expected:
            raise EngineError(f"digest mismatch: expected {expected}, got {d}")
        if not self.has_blob(d):
            w = self.writer()
            w.write(data)
            w.commit(d)
        return d

    # -- references -----------------------------------------------------------------------
    def _index(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.index_path.read_bytes())
        except FileNotFoundError:
            doc = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": []}
        return doc

    def references(self) -> dict[str, mf.Descriptor]:
        """Every reference in the store and the manifest it names."""
        out: dict[str, mf.Descriptor] = {}
        for entry in self._index().get("manifests", []):
            d = mf.Descriptor.from_json(entry)
            name = (d.annotations or {}).get(REF_ANNOTATION)
            if name:
                out[name] = d
        return out

    def set_ref(self, ref: str, manifest_desc: mf.Descriptor) -> None:
        name = refs.normalize(ref)
        desc = mf.Descriptor(manifest_desc.media_type, manifest_desc.digest, manifest_desc.size,
                             annotations={REF_ANNOTATION: name})
        with self.lock():
            doc = self._index()
            entries = [e for e in doc.get("manifests", [])
                       if (e.get("annotations") or {}).get(REF_ANNOTATION) != name]
            entries.append(desc.to_json())
            entries.sort(key=lambda e: e["annotations"][REF_ANNOTATION])
            doc["manifests"] = entries
            write_atomic(self.index_path, mf.canonical_json(doc))

    def remove_ref(self, ref: str) -> None:
        name = refs.normalize(ref)
        with self.lock():
            doc = self._index()
            entries = doc.get("manifests", [])
            kept = [e for e in entries
                    if (e.get("annotations") or {}).get(REF_ANNOTATION) != name]
            if len(kept) == len(entries):
                raise EngineError(f"No such image: {name}",
                                  hint="list local images with engine.images()")
            doc["manifests"] = kept
            write_atomic(self.index_path, mf.canonical_json(doc))

    def resolve(self, ref: str) -> StoredImage:
        """The image a reference names, with its manifest and config parsed."""
        name = refs.normalize(ref)
        desc = self.references().get(name)
        if desc is None:
            raise EngineError(f"No such image: {name}",
                              hint="build it, tag it, or pull it first")
        return self.load(name, desc.digest)

    def load(self, name: str, manifest_digest: str) -> StoredImage:
        raw = self.read_blob(manifest_digest)
        m = mf.parse(raw)
        if m.config is None:
            raise EngineError(f"{name} is an index; the store keeps single-platform images")
        cfg = json.loads(self.read_blob(m.config.digest))
        return StoredImage(name, m, cfg)

    def images(self) -> list[LocalImage]:
        out = []
        for name, desc in sorted(self.references().items()):
            try:
                img = self.load(name, desc.digest)
            except (EngineError, mf.ManifestError):
                continue
            assert img.manifest.config is not None
            out.append(LocalImage(name, img.manifest.config.digest, img.manifest.layers_size,
                                  tuple(x.digest for x in img.manifest.layers)))
        return out

    def gc(self) -> int:
        """Delete blobs no reference reaches (what `docker rmi` does to unused layers).

        Skipped while a build or pull is in progress, as its new blobs are not referenced yet.
        """
        with self._flock(".gc", fcntl.LOCK_EX | fcntl.LOCK_NB) as got, self.lock():
            if not got:
                return 0
            keep: set[str] = set()
            for desc in self.references().values():
                keep.add(desc.digest)
                try:
                    m = mf.parse(self.read_blob(desc.digest))
                except (EngineError, mf.ManifestError):
                    continue
                keep.update(d.digest for d in m.references())
            removed = 0
            for p in self.blobs.iterdir():
                if f"sha256:{p.name}" not in keep:
                    p.unlink(missing_ok=True)
                    removed += 1
            sources = self._sources()
            pruned = {k: v for k, v in sources.items() if k in keep}
            if pruned != sources:
                write_atomic(self.sources_path, mf.canonical_json(pruned))
            return removed

    # -- where each blob is known to live remotely (for cross-repository mounts) ------------
    def _sources(self) -> dict[str, list[str]]:
        try:
            return json.loads(self.sources_path.read_bytes())
        except FileNotFoundError:
            return {}

    def sources(self, digest: str) -> list[str]:
        """`registry/repository` names known to hold this blob, most recent first."""
        return list(self._sources().get(digest, []))

    def add_sources(self, digests: list[str], registry: str, repository: str) -> None:
        where = f"{registry}/{repository}"
        with self.lock():
            doc = self._sources()
            for d in digests:
                known = [x for x in doc.get(d, []) if x != where]
                doc[d] = [where, *known][:8]
            write_atomic(self.sources_path, mf.canonical_json(doc))
