"""The lab's notion of "now": the wall clock plus an offset a learner can move forward.

A lifecycle rule such as `sinceImagePushed > 14 days` can only be seen working if 14 days
pass; `labkit lab clock advance 15d` (or `Lab.advance_clock(days=15)`) makes them pass for the
lab: image push times, lifecycle evaluation and previews all read this clock.  Authorization
tokens keep real time, so a docker login does not expire because the lab's clock jumped.

The offset lives in `<home>/clock.json`, so it survives a restart of the lab, and is re-read
when the file changes, so the CLI can move the clock of a running lab without asking it. In a
workshop room each learner's account adds an offset of its own (account_clocks.py).

Tokens have a clock of their own, `<home>/token-clock.json` (TOKEN_FILE), at the wall clock
unless moved: `labkit lab clock advance 13h --tokens` makes the next morning come for the lab's
tokens (notebook 08: docker's login of today has expired), without aging any image; tests move
it too (tests/conftest.py ShortTokens), so no test waits a token's lifetime out.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any

FILE = "clock.json"
TOKEN_FILE = "token-clock.json"  # the token issuer's clock (see above)
UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
MAX_OFFSET = 10 * 365 * 86400.0  # ten years: enough for any rule, far from float trouble


class ClockError(ValueError):
    """A duration the clock does not understand, or a jump it refuses."""


MOVE_USAGE = 'POST {"advance": "15d"} (or a number of seconds), or {"reset": true}'


def parse_duration(text: str) -> float:
    """`15d`, `36h`, `90m`, `30s`, `2w` or plain seconds -> seconds."""
    m = DURATION.match(str(text))
    if not m:
        raise ClockError(f"cannot read {text!r} as a duration: use a number with a unit, for "
                         "example 15d (days), 36h, 90m, 30s or 2w")
    return float(m[1]) * UNITS[m[2] or "s"]


def describe(seconds: float) -> str:
    """A short human reading of an offset: `15d 0h`, `2h 30m`, `0s`."""
    s = int(round(seconds))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


class LabClock:
    """time.time() + the offset stored under the lab's home; safe across threads/processes."""

    def __init__(self, home: Path, wall=time.time, file: str = FILE):
        self.path = Path(home) / file
        self._wall = wall
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None
        self._offset = 0.0

    @property
    def offset(self) -> float:
        """Seconds the lab's clock is ahead of the wall clock (re-read when the file changed)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return 0.0
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)  # each write is a new inode
        with self._lock:
            if stamp != self._seen:
                try:
                    value = float(json.loads(self.path.read_text()).get("offset", 0.0))
                except (OSError, ValueError, TypeError, AttributeError):
                    value = 0.0  # a damaged file means no offset, never a crash
                self._offset, self._seen = value, stamp
            return self._offset

    def now(self) -> float:
        """The lab's now, in seconds since the epoch."""
        return self._wall() + self.offset

    def _store(self, offset: float) -> float:
        if not 0 <= offset <= MAX_OFFSET:
            raise ClockError("the lab's clock only moves forward, at most ten years ahead of "
                             "the wall clock (`labkit lab clock reset` puts it back)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}")
        tmp.write_text(json.dumps({"offset": offset}))
        os.replace(tmp, self.path)
        with self._lock:
            self._seen = None
        return offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward by `seconds`; returns the new offset."""
        if seconds <= 0:
            raise ClockError("advance the clock by a positive duration, for example 15d")
        return self._store(self.offset + seconds)

    def reset(self) -> None:
        """Back to the wall clock."""
        self._store(0.0)

    def status(self) -> dict[str, float | str]:
        offset = self.offset
        return {"now": self._wall() + offset, "offset": offset, "offset_text": describe(offset)}


def move(clock: Any, doc: Any, usage: str = MOVE_USAGE) -> None:
    """Move `clock` (a LabClock, or an account's) as a request body says: `{"advance": "15d"}`
    (or seconds) or `{"reset": true}`; ClockError, ending with `usage`, for anything else."""
    if not isinstance(doc, dict) or not ("advance" in doc or doc.get("reset")):
        raise ClockError(usage)
    if doc.get("reset"):
        clock.reset()
        return
    advance = doc["advance"]
    try:
        seconds = parse_duration(advance) if isinstance(advance, str) else float(advance)
    except ClockError:
        raise
    except (ValueError, TypeError) as e:
        raise ClockError(f"{e}; {usage}") from e
    clock.advance(seconds)
