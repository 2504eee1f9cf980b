"""docker's output formats, so the built-in `docker` prints what the docker CLI prints:
sizes (`2.12kB`), ages (`34 seconds ago`) and tables (Go's tabwriter: min width 10, padding 3).
"""

from __future__ import annotations

import datetime as _dt


def human_size(n: float, precision: int = 3) -> str:
    """docker's units.HumanSizeWithPrecision(n, 3): 2123 -> `2.12kB`, 105 -> `105B`."""
    units = ("B", "kB", "MB", "GB", "TB", "PB")
    i = 0
    while n >= 1000 and i < len(units) - 1:
        n /= 1000.0
        i += 1
    return f"{n:.{precision}g}{units[i]}"


def human_duration(seconds: float) -> str:
    """docker's units.HumanDuration: `Less than a second`, `34 seconds`, `2 years`."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(s / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{hours // 24 // 365} years"


def since(created: str, now: _dt.datetime | None = None) -> str:
    """`34 seconds ago` for an RFC 3339 time (what `docker images` shows as CREATED)."""
    try:
        when = _dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return "N/A"
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    now = now or _dt.datetime.now(_dt.UTC)
    return f"{human_duration((now - when).total_seconds())} ago"


def table(rows: list[list[str]], minwidth: int = 10, padding: int = 3) -> str:
    """Columns as Go's tabwriter aligns them for docker (the last column is not padded)."""
    if not rows:
        return ""
    widths = [max(minwidth, max(len(r[i]) for r in rows) + padding)
              for i in range(len(rows[0]) - 1)]
    lines = []
    for r in rows:
        cells = [c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)]
        lines.append("".join(cells) + r[-1])
    return "\n".join(lines)
