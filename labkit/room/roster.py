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
from typing import Any

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed from a slide
CODE_LENGTH = 10  # 50 bits; with the failure limit below, not guessable in a workshop's day
FAILURES_PER_MINUTE = 10  # bad codes the whole room may send a minute before joins pause
FILE = Path("room") / "roster.json"
MAX_COMPANIONS = 3  # accounts a learner may make for a section that needs a second one (08)


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
        self._cached: dict[str, Any] = {}
        self._seen: tuple[int, int, int] | None = None

    def _doc(self) -> dict[str, Any]:
        """The roster file's document, read again only when the file changed (the board asks
        for the companions at every poll): callers must not change it."""
        try:
            st = self.path.stat()
        except OSError:
            return {}
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)  # each save is a new inode
        if stamp != self._seen:
            try:
                doc = json.loads(self.path.read_text())
            except (OSError, ValueError):
                doc = {}
            self._cached, self._seen = doc if isinstance(doc, dict) else {}, stamp
        return self._cached

    def _load(self) -> dict[str, dict[str, str]]:
        return {str(k): dict(v) for k, v in self._doc().get("learners", {}).items()}

    def _save(self, learners: dict[str, dict[str, str]],
              companions: dict[str, dict[str, str]] | None = None) -> None:
        if companions is None:
            companions = self._doc().get("companions", {})
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"learners": learners, "companions": companions}, f, indent=1)
        os.replace(tmp, self.path)

    # ---- a learner's second accounts (notebook 08's platform team) ----
    def companions(self) -> dict[str, str]:
        """{companion account: the account of the learner who made it}: the board and a
        learner's trace count a companion's requests as its learner's."""
        with self._lock:
            return {a: v["owner"] for a, v in self._doc().get("companions", {}).items()}

    def learner_of(self, account_id: str) -> Learner | None:
        """The learner whose account (or companion account) this is, or None."""
        with self._lock:
            doc = self._doc()
            owner = doc.get("companions", {}).get(account_id, {}).get("owner", account_id)
            for name, v in doc.get("learners", {}).items():
                if v.get("account_id") == owner:
                    return Learner(name, owner)
        return None

    def may_add_companion(self, owner: str, name: str) -> bool:
        """Whether learner account `owner` may have a companion called `name`: one it has
        already, or a new one within MAX_COMPANIONS."""
        with self._lock:
            mine = [v for v in self._doc().get("companions", {}).values()
                    if v.get("owner") == owner]
        return any(v.get("name") == name for v in mine) or len(mine) < MAX_COMPANIONS

    def add_companion(self, owner: str, name: str, account_id: str) -> None:
        with self._lock:
            doc = self._doc()
            companions = dict(doc.get("companions", {}))
            companions[account_id] = {"owner": owner, "name": name}
            self._save({str(k): dict(v) for k, v in doc.get("learners", {}).items()},
                       companions)

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
