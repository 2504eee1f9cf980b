"""The most recent pull the lab served, whoever made it: a notebook cell's `!docker pull`, a
terminal's, or the built-in engine's. `last_pull(lab)` picks its requests out of the lab's trace
(the rule is `labkit.trace.reader.pull_requests`), asks the registry what the pulled image is
(its config, its layers and their sizes), shows them as a table and draws them, with every
blob the client skipped because it had it already.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from ..ecr.images import ImageFacts
from ..oci.digest import short
from ..trace import reader
from ..trace.record import TraceRecord
from .views import Table


@dataclass
class LastPull:
    """One pull's requests, as the lab recorded them, and the image as the registry holds it."""

    repository: str
    requests: list[TraceRecord] = field(default_factory=list)
    client: str = ""
    image: ImageFacts | None = None

    @property
    def found(self) -> bool:
        return bool(self.requests)

    @property
    def pull(self) -> reader.Pull:
        return reader.Pull(self.repository, self.requests)

    def _what(self, r: TraceRecord) -> str:
        if r.is_ping:
            return "handshake" if r.status == 401 else "credentials check"
        if r.route == "manifest":
            return f"manifest {_ref(r.reference)}"
        kind = (self.image.kind_of(r.digest or "") if self.image else None) or "blob"
        where = "download of" if r.is_download else kind
        return f"{where} {short(r.digest or '')}" + (f" ({kind})" if r.is_download else "")

    def table(self) -> Table:
        rows = [[r.seq, r.method, self._what(r), r.status, r.bytes_out, r.auth]
                for r in self.requests]
        skipped = self.skipped()
        caption = (f"pull of {self.repository} by {self.client}: {len(self.requests)} requests"
                   + (f"; {len(skipped)} blob(s) already present, never requested"
                      if skipped else ""))
        return Table(["#", "method", "what", "status", "bytes out", "auth"], rows, caption)

    def skipped(self) -> list[tuple[str, str, int]]:
        """(kind, digest, size) of the image's blobs this pull never asked for."""
        if self.image is None:
            return []
        got = set(self.pull.fetched)
        return [(self.image.kind_of(b.digest) or "blob", b.digest, b.size)
                for b in self.image.blobs if b.digest not in got]

    def figure(self, title: str = "") -> Any:
        """The pull-flow diagram of exactly these requests (and the skipped blobs)."""
        from .diagrams import pull_flow

        return pull_flow(self.requests, title or f"pull {self.repository} by {self.client}, "
                                                  "as the lab saw it",
                         repository=self.repository, image=self.image)

    def __repr__(self) -> str:
        if not self.found:
            return f"no pull of {self.repository or 'any repository'} in the lab's trace"
        return repr(self.table())

    def _repr_html_(self) -> str:
        if not self.found:
            return f"<p>{html.escape(repr(self))}</p>"
        return self.table()._repr_html_()


def _ref(reference: str | None) -> str:
    ref = reference or ""
    return f"sha256:{short(ref)}…" if ref.startswith("sha256:") else ref


def last_pull(lab: Any, since: int = 0, repository: str | None = None,
              target: Any = None) -> LastPull:
    """The most recent pull in the lab's trace after mark `since` (of `repository`, default:
    the repository whose manifest was read last), with the pulled image as the registry holds
    it (read through `target`, default: an ECR client for `lab`)."""
    pull = reader.last_pull(lab.trace(since), repository)
    facts = None
    if pull.found and pull.digest:
        from ..ecr.images import describe

        if target is None:
            from ..ecr.target import connect

            target = connect(lab=lab)
        facts = describe(target, pull.repository, pull.digest)
    return LastPull(pull.repository, pull.records, pull.client, facts)
