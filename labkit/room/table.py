"""The board as data: one JSON document per learner (what the page draws and `labkit lab board
--csv` prints), and the CSV of those rows.

One shape for the page, the CSV and the CLI, made once here from a learner's `Progress` and
the explanation of their last failure (labkit.trace.explain, as `labkit explain` gives it).
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
from collections.abc import Iterable, Mapping
from typing import Any

from ..trace.explain import Explanation
from .board import STEPS, Progress


def row(account: str, name: str, p: Progress, explanation: Explanation | None) -> dict[str, Any]:
    """One learner's row (JSON): their account, the steps done (step -> epoch seconds), their
    last failure explained, how often they met it and whether it was resolved since."""
    failure = None
    if p.failure is not None:
        failure = {"time": p.failure.time, "client": p.failure.client,
                   "attempts": p.attempts, "resolved": p.resolved}
        if explanation is not None:
            failure.update(summary=explanation.summary, asked=explanation.asked,
                           answered=explanation.answered, why=list(explanation.why),
                           fix=explanation.fix, case=explanation.case)
    return {"account": account, "name": name, "steps": dict(p.steps),
            "last_activity": p.last_activity, "requests": p.requests, "failure": failure,
            "flags": []}


def _when(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return _dt.datetime.fromtimestamp(epoch, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cell(value: Any) -> str:
    """A spreadsheet never runs a cell as a formula (`=`, `+`, `-`, `@` first: a quote before)."""
    text = str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


HEADER = ["account", "name", *(label for _, label in STEPS), "last activity", "last failure",
          "lab answered", "fix", "times met", "resolved", "flags"]


def to_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """The board as CSV: a row per learner, a column per step (when it was first done, UTC,
    empty if not yet), then the last failure, its fix and the flags."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for r in rows:
        f = r.get("failure") or {}
        writer.writerow([_cell(v) for v in [
            r["account"], r.get("name") or "",
            *(_when(r["steps"].get(key)) for key, _ in STEPS),
            _when(r.get("last_activity")), f.get("summary", ""), f.get("answered", ""),
            f.get("fix", ""), f.get("attempts", "") if f else "",
            ("yes" if f.get("resolved") else "no") if f else "", "; ".join(r.get("flags") or [])]])
    return out.getvalue()
