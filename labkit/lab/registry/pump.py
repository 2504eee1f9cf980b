"""Move request bytes to disk while hashing them: the hot path of every blob upload.

Receiving, hashing and writing each release the GIL, so for large bodies they run as a
three-stage pipeline (this thread receives, one thread writes, one hashes) over a small fixed
pool of 1 MiB buffers: throughput is that of the slowest stage, not the sum of all three, and
memory stays at a few MiB whatever the blob size.  Small bodies take the plain loop.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable
from typing import Any, BinaryIO, Protocol

CHUNK = 1 << 20
BUFFERS = 4
PIPELINE_MIN = 4 * CHUNK  # below this, starting two threads costs more than it saves


class Source(Protocol):
    """A request body: `readinto` returns 0 at its end; `expected` is its length if known."""

    expected: int | None

    def readinto(self, buffer: memoryview) -> int: ...


def pump(source: Source | Iterable[bytes | memoryview], hasher: Any, out: BinaryIO) -> int:
    """Copy `source` into `out`, feeding `hasher`; returns the number of bytes moved."""
    if not hasattr(source, "readinto"):
        return _plain_iter(source, hasher, out)  # type: ignore[arg-type]
    expected = source.expected  # type: ignore[union-attr]
    if expected is not None and expected < PIPELINE_MIN:
        return _plain_read(source, hasher, out)  # type: ignore[arg-type]
    return _pipelined(source, hasher, out)  # type: ignore[arg-type]


def _writer(out: BinaryIO):
    """out.write that never stops short (a raw, unbuffered file may write part of a view)."""

    def write_all(view) -> None:
        view = memoryview(view)
        while view:
            n = out.write(view)
            view = view[n:]

    return write_all


def _plain_iter(chunks: Iterable[bytes | memoryview], hasher: Any, out: BinaryIO) -> int:
    n = 0
    update, write = hasher.update, _writer(out)
    for chunk in chunks:
        update(chunk)
        write(chunk)
        n += len(chunk)
    return n


def _plain_read(source: Source, hasher: Any, out: BinaryIO) -> int:
    buf = memoryview(bytearray(CHUNK))
    n = 0
    write = _writer(out)
    while k := source.readinto(buf):
        hasher.update(buf[:k])
        write(buf[:k])
        n += k
    return n


class _Stage(threading.Thread):
    """One worker of the pipeline: applies `work` to each view, then passes it on."""

    def __init__(self, work, inbox: queue.SimpleQueue, outbox: queue.SimpleQueue, name: str):
        super().__init__(name=name, daemon=True)
        self.work, self.inbox, self.outbox = work, inbox, outbox
        self.error: BaseException | None = None

    def run(self) -> None:
        while True:
            item = self.inbox.get()
            if item is None:
                self.outbox.put(None)
                return
            buf, k = item
            if self.error is None:
                try:
                    self.work(buf[:k])
                except BaseException as e:  # noqa: BLE001 - handed to the receiving thread
                    self.error = e
            self.outbox.put(item)


def _pipelined(source: Source, hasher: Any, out: BinaryIO) -> int:
    free: queue.SimpleQueue = queue.SimpleQueue()
    to_write: queue.SimpleQueue = queue.SimpleQueue()
    to_hash: queue.SimpleQueue = queue.SimpleQueue()
    for _ in range(BUFFERS):
        free.put(memoryview(bytearray(CHUNK)))
    writer = _Stage(_writer(out), to_write, to_hash, "registry-write")
    # The hasher returns each buffer to the pool; its final None marks the end.
    hash_stage = _Stage(hasher.update, to_hash, free, "registry-hash")
    writer.start()
    hash_stage.start()
    n = 0
    try:
        while writer.error is None and hash_stage.error is None:
            item = free.get()
            buf = item[0] if isinstance(item, tuple) else item
            k = source.readinto(buf)
            if not k:
                break
            to_write.put((buf, k))
            n += k
    finally:
        to_write.put(None)
        writer.join()
        hash_stage.join()
    for stage in (writer, hash_stage):
        if stage.error is not None:
            raise stage.error
    return n
