"""Reproducible layer tarballs: same files in, same bytes out, on every machine.

Entries are sorted; times are fixed (SOURCE_DATE_EPOCH or 0); owners are 0:0 with empty names;
modes are normalised to 0644/0755; the tar is GNU format (no PAX headers, which would carry
times); gzip has mtime 0, no file name and a fixed level. The uncompressed tar's sha256 is the
layer's diff_id; the gzip's sha256 is its digest.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .store import BlobWriter

GZIP_LEVEL = 6  # docker's default compression level
DIR_MODE = 0o755
FILE_MODE = 0o644
EXEC_MODE = 0o755


def source_date_epoch() -> int:
    """The fixed timestamp for files and config (0 unless SOURCE_DATE_EPOCH says otherwise)."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return int(value) if value.isdigit() else 0


@dataclass(frozen=True)
class Entry:
    """One thing in a layer: a directory, a regular file (with its source) or a symlink."""

    path: str  # relative, posix, no leading slash
    kind: str  # "dir", "file" or "symlink"
    source: Path | None = None
    link: str = ""
    executable: bool = False


@dataclass(frozen=True)
class BuiltLayer:
    digest: str  # sha256 of the gzip (what manifests name)
    diff_id: str  # sha256 of the tar (what the config's rootfs names)
    size: int


class _HashTee(io.RawIOBase):
    """Hashes what tarfile writes (the diff_id) and passes it on to gzip."""

    def __init__(self, target: gzip.GzipFile):
        self.target = target
        self.h = hashlib.sha256()
        self.n = 0

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.h.update(b)
        self.n += len(b)
        self.target.write(b)
        return len(b)

    def tell(self) -> int:
        return self.n


def with_parents(entries: dict[str, Entry]) -> list[Entry]:
    """Add every missing parent directory, then sort parents before children."""
    out = dict(entries)
    for path in list(entries):
        for parent in PurePosixPath(path).parents:
            p = str(parent)
            if p not in (".", "") and p not in out:
                out[p] = Entry(p, "dir")
    return [out[k] for k in sorted(out, key=lambda p: PurePosixPath(p).parts)]


def _tarinfo(entry: Entry, mtime: int) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(entry.path)
    ti.mtime = mtime
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    if entry.kind == "dir":
        ti.type, ti.mode = tarfile.DIRTYPE, DIR_MODE
    elif entry.kind == "symlink":
        ti.type, ti.mode, ti.linkname = tarfile.SYMTYPE, 0o777, entry.link
    else:
        ti.type = tarfile.REGTYPE
        ti.mode = EXEC_MODE if entry.executable else FILE_MODE
    return ti


def write_layer(entries: list[Entry], out: BlobWriter) -> BuiltLayer:
    """Write the gzipped tar of `entries` (already complete and ordered) into a blob writer."""
    mtime = source_date_epoch()
    gz = gzip.GzipFile(filename="", mode="wb", compresslevel=GZIP_LEVEL, fileobj=out, mtime=0)
    tee = _HashTee(gz)
    with tarfile.open(fileobj=tee, mode="w", format=tarfile.GNU_FORMAT) as tar:  # type: ignore[call-overload]
        for entry in entries:
            ti = _tarinfo(entry, mtime)
            if entry.kind == "file":
                assert entry.source is not None
                with open(entry.source, "rb") as f:
                    ti.size = os.fstat(f.fileno()).st_size
                    tar.addfile(ti, f)
            else:
                tar.addfile(ti)
    gz.close()
    digest = out.commit()
    return BuiltLayer(digest, f"sha256:{tee.h.hexdigest()}", out.size)


def entry_for(path: str, source: Path) -> Entry:
    """The Entry for a file system object copied from the build context."""
    st = os.lstat(source)
    if stat.S_ISLNK(st.st_mode):
        return Entry(path, "symlink", link=os.readlink(source))
    if stat.S_ISDIR(st.st_mode):
        return Entry(path, "dir")
    if stat.S_ISREG(st.st_mode):
        return Entry(path, "file", source=source, executable=bool(st.st_mode & 0o111))
    raise ValueError(f"{source} is not a regular file, directory or symlink")
