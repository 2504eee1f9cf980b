"""ECR's lastRecordedPullTime of each image, kept in an append-only log per repository.

    repositories/<name>/_manifests/pulls    one line per recorded pull: "<hex> <seconds>";
                                            "<hex> -" when an image is pushed anew (no pull yet)

Why a log and not the image's revision record: a pull is a manifest GET, and the first pull of
every image must be recorded.  Rewriting the revision record (a temp file and a rename: ~0.25
ms on an idle disk, much more on a busy one) was most of a cold manifest GET's cost, and it
changed the repository's generation, which emptied the pull memo of every other image.  An
appended line costs ~7 us, is as durable (neither is fsynced), and changes nothing a memo
depends on.

The last line for a digest wins; a line torn by a crash is skipped.  The log is read once per
repository and then kept in memory; past FOLD_BYTES it is rewritten with one line per image
(atomically).  Revision records written before this log existed may hold a `last_pull`: that
is the answer while the log says nothing of the image.
"""

from __future__ import annotations

import os
import threading

from ..names import check_digest
from .changes import Changes, remember
from .files import Files

# A recorded pull within this many seconds of the last recorded one is not recorded again.
PULL_TIME_STEP = 1.0
# The log is compacted once it grows past this (and past twice its size after the last fold).
FOLD_BYTES = 1 << 20

_UNKNOWN = object()  # the log says nothing of this image


class PullTimes:
    """When each image was last pulled, per repository: memory first, the log on disk."""

    def __init__(self, files: Files, changes: Changes):
        self.files, self.changes = files, changes
        self._tables: dict[str, dict[str, float | None]] = {}  # repository -> hex -> time
        self._sizes: dict[str, tuple[int, int]] = {}  # repository -> (log bytes, fold above)
        self._torn: set[str] = set()  # repositories whose log ends in a torn line
        # Guards the tables and the logs. Not the repository's lock: reads run under that lock
        # too (a listing during a delete), so they must not take it again. Taken after it.
        self._lock = threading.Lock()

    def _table(self, name: str) -> dict[str, float | None]:
        table = self._tables.get(name)
        if table is None:
            with self._lock:
                table = self._locked_table(name)
        return table

    def _locked_table(self, name: str) -> dict[str, float | None]:
        """The repository's table, read from its log if need be (the caller holds _lock)."""
        table = self._tables.get(name)
        if table is None:
            table = self._load(name)
            remember(self._tables, name, table)
        return table

    def _load(self, name: str) -> dict[str, float | None]:
        table: dict[str, float | None] = {}
        try:
            data = self.files.pull_log(name).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            data = b""
        lines = data.split(b"\n")
        if lines[-1]:  # no newline at the end: torn by a crash; the next line starts afresh
            self._torn.add(name)
        for line in lines[:-1]:
            hexd, _, when = line.decode("ascii", "replace").partition(" ")
            if len(hexd) != 64 or not when:
                continue  # torn by a crash, or not ours
            if when == "-":
                table[hexd] = None
                continue
            try:
                table[hexd] = float(when)
            except ValueError:
                continue
        self._sizes[name] = (len(data), FOLD_BYTES)
        return table

    def last(self, name: str, digest: str, recorded: float | None = None) -> float | None:
        """The image's last recorded pull; `recorded` is what its revision record holds."""
        value = self._table(name).get(check_digest(digest), _UNKNOWN)
        return recorded if value is _UNKNOWN else value  # type: ignore[return-value]

    def known(self, name: str, digest: str) -> object:
        """The log's answer for the image, or a sentinel if it has none (see `changed`)."""
        table = self._tables.get(name)
        return _UNKNOWN if table is None else table.get(digest.removeprefix("sha256:"), _UNKNOWN)

    @staticmethod
    def changed(known: object, current: float | None) -> bool:
        return known is not _UNKNOWN and known != current

    def record(self, name: str, digest: str, when: float) -> None:
        """A pull of the image at `when` (not recorded again within PULL_TIME_STEP), if the
        repository still holds it."""
        hexd = check_digest(digest)
        last = self._table(name).get(hexd)
        if last is not None and 0 <= when - last < PULL_TIME_STEP:
            return
        with self.changes.lock(name):
            if not self.files.revision(name, digest).exists():
                return  # deleted since it was read
            with self._lock:
                table = self._locked_table(name)
                self._append(name, hexd, repr(float(when)))
                table[hexd] = float(when)
                self._maybe_fold(name)

    def reset(self, name: str, digest: str) -> None:
        """The image is pushed anew: never pulled (call under the repository's lock)."""
        hexd = check_digest(digest)
        with self._lock:
            table = self._locked_table(name)
            if hexd in table:
                self._append(name, hexd, "-")
                table[hexd] = None

    def forget(self, name: str) -> None:
        """The repository is deleted (its log goes with its `_manifests`)."""
        with self._lock:
            self._tables.pop(name, None)
            self._sizes.pop(name, None)
            self._torn.discard(name)

    def _append(self, name: str, hexd: str, value: str) -> None:
        line = f"{hexd} {value}\n".encode()
        if name in self._torn:
            line = b"\n" + line
            self._torn.discard(name)
        path = self.files.pull_log(name)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
        size, fold_above = self._sizes.get(name, (0, FOLD_BYTES))
        self._sizes[name] = (size + len(line), fold_above)

    def _maybe_fold(self, name: str) -> None:
        """Rewrite a long log with one line per image the repository still holds."""
        size, fold_above = self._sizes.get(name, (0, FOLD_BYTES))
        if size <= fold_above:
            return
        table = self._locked_table(name)
        for hexd in [h for h in table if not self.files.revision(name, f"sha256:{h}").exists()]:
            del table[hexd]
        data = "".join(f"{h} {'-' if t is None else repr(t)}\n" for h, t in table.items()).encode()
        self.files.write_atomic(self.files.pull_log(name), data)
        self._torn.discard(name)
        self._sizes[name] = (len(data), max(FOLD_BYTES, 2 * len(data)))
