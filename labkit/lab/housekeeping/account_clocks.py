"""Each account's clocks: the lab's, plus an offset of the account's own.

A laptop's lab has one learner, and `labkit lab clock advance` moves the lab's clock for every
account in it. A room's lab has thirty: when one learner makes the next morning come for their
tokens (notebook 08) or two weeks pass for their images (05b), the others' logins must not
expire and their images must not age. So an account other than the lab's own reads the lab's
clock plus an offset only it moves (`<home>/accounts/ACCOUNT/clock.json`, and
`token-clock.json` for its tokens); the instructor's `labkit lab clock advance` still moves
everyone's. The lab's own account has no offset of its own: moving its clock is moving the lab's.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ... import config
from .clock import FILE, ClockError, LabClock, describe

ACCOUNT_ID = re.compile(r"^\d{12}$")


class AccountClock:
    """One account's clock: the lab's, plus its own offset (None: the lab's own account)."""

    def __init__(self, lab: LabClock, own: LabClock | None = None):
        self.lab, self.own = lab, own

    @property
    def offset(self) -> float:
        return self.lab.offset + (self.own.offset if self.own is not None else 0.0)

    def now(self) -> float:
        return self.lab.now() + (self.own.offset if self.own is not None else 0.0)

    def advance(self, seconds: float) -> float:
        """Move this account's clock forward (the lab's own account: the lab's clock)."""
        (self.own or self.lab).advance(seconds)
        return self.offset

    def reset(self) -> None:
        """Undo this account's own moves (the lab's own account: the lab's clock's)."""
        (self.own or self.lab).reset()

    def status(self) -> dict[str, float | str]:
        offset = self.offset
        return {"now": self.now(), "offset": offset, "offset_text": describe(offset)}


class AccountClocks:
    """The clocks of a lab's accounts, one file each (see the module doc)."""

    def __init__(self, home: Path, lab_account: str, file: str = FILE,
                 wall: Callable[[], float] = time.time):
        self.home, self.file = Path(home), file
        self.lab = LabClock(home, wall=wall, file=file)
        self.lab_account = lab_account
        self._of: dict[str, AccountClock] = {lab_account: AccountClock(self.lab)}
        self._lock = threading.Lock()

    def of(self, account: str | None) -> AccountClock:
        """`account`'s clock (None: the lab's own account's)."""
        if account is None:
            account = self.lab_account
        found = self._of.get(account)
        if found is not None:
            return found
        if not ACCOUNT_ID.match(account):
            raise ClockError(f"{account!r} is not an account id (12 digits)")
        with self._lock:
            return self._of.setdefault(account, AccountClock(self.lab, LabClock(
                self.home / config.ACCOUNTS_FOLDER / account, file=self.file)))

    def now(self, account: str | None = None) -> float:
        """`account`'s now (the lab's for None or the lab's own account)."""
        return self.of(account).now()
