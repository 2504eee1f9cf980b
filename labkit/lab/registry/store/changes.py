"""Per-repository locks and change generations, and the bounded memos the hot path keeps.

A pull asks the same few questions hundreds of times a second (and every system call is a GIL
hand-off under load), so answers are memoized; every change to a repository's manifests, tags
or layer links bumps its generation after the change is on disk, and a memo entry read before
(or during) a change carries the older generation and is never used after it.
"""

from __future__ import annotations

import threading
from typing import Any

MEMO_LIMIT = 4096  # entries in each hot-path memo before it starts over


def remember(memo: dict, key: Any, value: Any) -> None:
    """Store in a memo that starts over at MEMO_LIMIT entries, so hostile or countless names
    cannot grow it without bound."""
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    memo[key] = value


class Changes:
    """One lock and one change counter per repository."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._generations: dict[str, int] = {}

    def lock(self, name: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(name, threading.Lock())

    def generation(self, name: str) -> int:
        return self._generations.get(name, 0)

    def changed(self, name: str) -> None:
        """The repository's manifests, tags or layer links changed on disk."""
        self._generations[name] = self._generations.get(name, 0) + 1
