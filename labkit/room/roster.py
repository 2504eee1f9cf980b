"""A room's learners and their join codes, kept in the room lab's home (`room/roster.json`).

Each learner is an account of the lab (`create_account`, idempotent by name), so a learner's
repositories, tokens and uploads are their own: the lab's account isolation is the room's
confinement. The instructor hands each learner a join code; `labkit classroom join` trades it
for that account's keys. Only a hash of each code is kept: the roster file reveals no code,
and codes are compared in constant time. Issuing a learner's code again replaces the old one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed from a slide
CODE_LENGTH = 10  # 50 bits; with the failure limit below, not guessable in a workshop's day
FAILURES_PER_MINUTE = 10  # bad codes the whole room may send a minute before joins pause
FILE = Path("room") / "roster.json"


@dataclass(frozen=True)
class Learner:
    name: str
    account_id: str


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def _hash(code: str) -> str:
    normal = code.strip().upper().replace("-", "").replace(" ", "")
    return hashlib.sha256(normal.encode()).hexdigest()


class Roster:
    """The learners of the room a lab serves (an empty roster: the lab is no room)."""

    def __init__(self, home: Path, now: Callable[[], float] = time.monotonic):
        self.path = home / FILE
        self._lock = threading.Lock()
        self._failures: list[float] = []
        self._now = now

    def _load(self) -> dict[str, dict[str, str]]:
        try:
            doc = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return {str(k): dict(v) for k, v in doc.get("learners", {}).items()}

    def _save(self, learners: dict[str, dict[str, str]]) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"learners": learners}, f, indent=1)
        os.replace(tmp, self.path)

    def issue(self, name: str, account_id: str) -> str:
        """A (new) join code for learner `name`, whose account is `account_id`."""
        code = new_code()
        with self._lock:
            learners = self._load()
            learners[name] = {"account_id": account_id, "code": _hash(code)}
            self._save(learners)
        return code

    def learners(self) -> list[Learner]:
        with self._lock:
            return [Learner(n, v["account_id"]) for n, v in sorted(self._load().items())]

    def paused(self) -> bool:
        """Too many bad codes this minute: joins wait (someone is guessing)."""
        now = self._now()
        with self._lock:
            self._failures = [t for t in self._failures if now - t < 60]
            return len(self._failures) >= FAILURES_PER_MINUTE

    def redeem(self, code: str) -> Learner | None:
        """The learner whose code this is, or None (and the failure counts)."""
        wanted = _hash(code)
        with self._lock:
            found = None
            for name, v in self._load().items():
                if hmac.compare_digest(v.get("code", ""), wanted):
                    found = Learner(name, v["account_id"])
            if found is None:
                self._failures.append(self._now())
            return found
