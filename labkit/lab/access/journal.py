"""Identities survive a restart: every IAM/STS write the lab accepted, in order, one JSON line.

At start the lab replays the journal into moto with each write's own seed, so a replayed
`CreateAccessKey` makes the same key id and secret the learner was given (moto_seam.py). A line
records the request (action and parameters), the account it acted in, its seed, and what must
come out the same (`expect`, e.g. the access key id), which replay checks. STS sessions also
keep what moto cannot reproduce (the session token, random from the OS) and when they end.

The file lives in LABKIT_HOME (created 0600: it holds session tokens, as `secret.key` holds
the lab's secret). A crash mid-write leaves at most a torn last line, which load skips.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger("labkit.lab.access")
VERSION = 1


class Journal:
    def __init__(self, path: Path):
        self.path = path

    def records(self) -> Iterator[dict[str, Any]]:
        try:
            lines = self.path.read_text("utf-8").splitlines()
        except FileNotFoundError:
            return
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                log.warning("identity journal %s: line %d is torn or corrupt; skipped",
                            self.path, number)
                continue
            if isinstance(record, dict) and record.get("v") == VERSION:
                yield record

    def empty(self) -> bool:
        try:
            return self.path.stat().st_size == 0
        except FileNotFoundError:
            return True

    def append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"v": VERSION, **record}, separators=(",", ":"), sort_keys=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
