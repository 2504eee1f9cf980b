"""The most recent pull the lab served, whoever made it: a notebook cell's `!docker pull`, a
terminal's, or the built-in engine's. `last_pull(lab)` picks its requests out of the lab's trace
(the rule is `diagrams.flow.pull_requests`), shows them as a table and draws them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .diagrams import flow as fl
from .views import Table


@dataclass
class LastPull:
    """One pull's requests, as the lab recorded them."""

    repository: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    client: str = ""

    @property
    def found(self) -> bool:
        return bool(self.requests)

    def table(self) -> Table:
        rows = []
        for r in self.requests:
            path = str(r.get("path", ""))
            where = path if len(path) <= 64 else path[:40] + "..." + path[-20:]
            rows.append([r.get("seq", ""), r.get("method", ""), where, r.get("status", ""),
                         r.get("bytes_out", 0), r.get("auth", "")])
        return Table(["#", "method", "path", "status", "bytes out", "auth"], rows,
                     caption=f"pull of {self.repository} by {self.client}: "
                             f"{len(self.requests)} requests")

    def figure(self, title: str = "") -> Any:
        """The pull-flow diagram of exactly these requests."""
        from .diagrams import pull_flow

        return pull_flow(self.requests, title or f"pull {self.repository} by {self.client}, "
                                                  "as the lab saw it",
                         repository=self.repository)

    def __repr__(self) -> str:
        if not self.found:
            return f"no pull of {self.repository or 'any repository'} in the lab's trace"
        return repr(self.table())

    def _repr_html_(self) -> str:
        return self.table()._repr_html_() if self.found else html_escape(repr(self))


def html_escape(text: str) -> str:
    import html

    return f"<p>{html.escape(text)}</p>"


def last_repository(trace: list[dict[str, Any]]) -> str:
    """The repository of the most recent manifest read (GET or HEAD) in a trace."""
    for rec in sorted(trace, key=lambda r: r.get("seq", 0), reverse=True):
        m = fl._MANIFEST.match(str(rec.get("path", "")))
        if m and rec.get("method") in ("GET", "HEAD"):
            return m.group("name")
    return ""


def last_pull(lab: Any, since: int = 0, repository: str | None = None) -> LastPull:
    """The most recent pull in the lab's trace after mark `since` (of `repository`, default:
    the repository whose manifest was read last)."""
    trace = lab.trace(since)
    repo = repository or last_repository(trace)
    picked = fl.pull_requests(trace, repo) if repo else []
    return LastPull(repo, picked, fl.client_name(picked))
