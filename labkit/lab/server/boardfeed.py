"""The board's rows, kept up to date from the running lab at a small cost.

The derivation is labkit.room.board's (pure, over TraceRecords); this module feeds it the lab's
trace, accounts and registries, explains each learner's last failure as `labkit explain`
would (labkit.trace.explain, its look-ups answered from the lab's own stores), and caches:

- rows are derived again only when the trace's last sequence number or the set of accounts
  changed since the last read, and then only for the learners whose records changed, so a
  board polled every two seconds by several browsers costs one comparison per poll while the
  room is quiet;
- a step once seen stays done, and a last failure stays shown, when the trace (bounded, the
  oldest records go first) no longer holds the records that showed it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ...room import board, table
from ...trace.explain import Lookups, explain

if TYPE_CHECKING:
    from .app import LabApp


@dataclass
class Snapshot:
    """The board at one point of the trace: `last` is its sequence number."""

    last: int
    accounts: int
    rows: list[dict[str, Any]]
    progress: dict[str, board.Progress]


class BoardFeed:
    """Rows for the board, from one lab (see the module's doc)."""

    def __init__(self, lab: LabApp):
        self.lab = lab
        self._lock = threading.Lock()
        self._snapshot = Snapshot(-1, -1, [], {})
        self._seen: dict[str, tuple[int, int]] = {}  # account -> (records, last seq)
        self._rows: dict[str, dict[str, Any]] = {}

    def snapshot(self) -> Snapshot:
        companions = self.lab.admin.room.roster.companions()  # a learner's second accounts
        accounts = {a: n for a, n in self.lab.access.store.accounts().items()
                    if a not in companions}
        last = self.lab.trace.last_seq()
        with self._lock:
            current = self._snapshot
            if (last, len(accounts)) != (current.last, current.accounts):
                self._snapshot = self._refresh(last, accounts, companions)
            return self._snapshot

    def _refresh(self, last: int, accounts: dict[str, str], companions: dict[str, str]
                 ) -> Snapshot:
        lab = self.lab
        home = lab.settings.account_id
        everything = lab.trace.since(0)
        oldest = everything[0].seq if everything else 0  # older records were dropped
        parts = board.partition(everything, home, lab.regions.owners(), aliases=companions)
        order = [home, *(a for a in accounts if a != home),
                 *sorted(a for a in parts if a not in accounts and a != home)]
        progress = dict(self._snapshot.progress)
        for account in order:
            records = parts.get(account, [])
            seen = (len(records), records[-1].seq if records else 0)
            if account in self._rows and self._seen.get(account) == seen:
                continue
            p = _sticky(board.progress(records), progress.get(account), oldest)
            explained = explain(p.failure, self.lookups(account)) if p.failure else None
            self._rows[account] = table.row(account, accounts.get(account, ""), p, explained)
            self._seen[account] = seen
            progress[account] = p
        return Snapshot(last, len(accounts), [self._rows[a] for a in order], progress)

    def lookups(self, account: str) -> Lookups:
        """What an explanation may look up, answered from the learner's own registry in the
        lab's region (the repositories and tags there). Docker's logins are on the learner's
        machine: unknown here."""
        lab = self.lab
        region = lab.settings.region
        found = next((r for r in lab.regions.all() if (r.account, r.name) == (account, region)),
                     None)
        host = lab.regions.hosts(account).get(region, lab.settings.registry_host)
        storage = found.storage if found is not None else None

        def repositories() -> list[str]:
            return storage.repositories() if storage is not None else []

        def tags(name: str) -> list[str]:
            try:
                return storage.tags(name) if storage is not None else []
            except Exception:  # noqa: BLE001 - the repository is gone: no tags to list
                return []

        def lifecycle(name: str) -> bool:
            settings = storage.repository_settings(name) if storage is not None else None
            return bool((settings or {}).get("lifecyclePolicy"))

        return Lookups(host, region, repositories, tags, None, lifecycle)


def _sticky(new: board.Progress, old: board.Progress | None, oldest: int = 0
            ) -> board.Progress:
    """`new`, keeping what `old` saw that the trace has since dropped (records older than
    `oldest`). A failure `old` showed whose record is still in the trace is not kept: the
    trace now says what it was (a 401 challenge seen before its authenticated retry was
    recorded is no failure once the retry is)."""
    if old is None:
        return new
    steps = dict(new.steps)
    for key, when in old.steps.items():
        steps[key] = min(when, steps.get(key, when))
    last = max(t for t in (new.last_activity, old.last_activity, 0.0) if t is not None) or None
    if new.failure is None and old.failure is not None and old.failure.seq < oldest:
        new = replace(new, failure=old.failure, attempts=old.attempts, resolved=old.resolved)
    return replace(new, steps=steps, last_activity=last)
