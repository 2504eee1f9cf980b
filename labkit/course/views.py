"""Engine-independent views for the notebooks: tables and pull stories with text and HTML reprs.

The committed notebook outputs are validated against both engines, so these views show facts
that are the same for the Docker Engine and the built-in one (layer counts, outcomes in docker's
words, which layers are shared or new, tags) and never sizes, which differ between their builds.
"""

from __future__ import annotations

import html
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..engines.builtin.refs import parse as parse_ref
from ..engines.report import EXISTS_LOCAL, PULLED, TransferReport
from ..oci.digest import short
from ..trace import reader
from ..trace.record import TraceRecord


@dataclass
class Table:
    """A small table that reads well as text (terminal, nbval) and as HTML (JupyterLab)."""

    headers: Sequence[str]
    rows: list[Sequence[Any]] = field(default_factory=list)
    caption: str = ""

    def _cells(self) -> list[list[str]]:
        return [[str(c) for c in row] for row in self.rows]

    def __repr__(self) -> str:
        table = [list(self.headers), *self._cells()]
        widths = [max(len(r[i]) for r in table) for i in range(len(self.headers))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                 for r in table]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(([self.caption] if self.caption else []) + lines)

    def _repr_html_(self) -> str:
        cap = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.headers)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                       for row in self._cells())
        return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _layers(report: TransferReport) -> list[Any]:
    return [x for x in report.layers if x.kind == "layer"]


def layer_table(report: TransferReport, compare: TransferReport | None = None) -> Table:
    """One row per layer: the ID docker printed for it, the registry's digest, and what
    happened to it (docker's words).

    The two IDs differ for a push: docker names a layer by its DiffID (the sha256 of the
    uncompressed tar), the registry by the compressed blob's digest; a pull prints the
    latter. With `compare` (the report of another version), a column says whether the layer
    is shared with that version or new.
    """
    other = {x.digest for x in _layers(compare)} if compare else set()
    headers = ["#", f"docker {report.action} printed", "registry digest", "outcome"] + (
        ["compared with " + _tag(compare.ref)] if compare else [])
    rows: list[Sequence[Any]] = []
    for i, x in enumerate(_layers(report), 1):
        row = [i, x.printed_id(report.action) or "?", short(x.digest), x.status]
        if compare:
            row.append("shared" if x.digest in other else "new")
        rows.append(row)
    return Table(headers, rows, f"{report.action} {report.ref}")


def _tag(ref: str) -> str:
    name = ref.rsplit("/", 1)[-1]
    return name.split("@", 1)[0]


def outcome_counts(report: TransferReport) -> dict[str, int]:
    """How many layers had each outcome, sorted by outcome (stable across engines)."""
    return dict(sorted(report.by_status().items()))


def tags_table(target: Any, repository: str) -> Table:
    """The repository's images as tags and a short manifest digest (DescribeImages)."""
    rows = [[", ".join(r.tags) or "<untagged>", short(r.digest)]
            for r in target.images(repository)]
    rows.sort(key=lambda r: r[0])
    return Table(["tags", "image digest"], rows, f"images in {repository}")


@dataclass
class PullStory:
    """What the registry saw during one pull, told in engine-independent steps."""

    challenged: bool  # the first /v2/ request was answered 401 with a challenge
    challenge: str  # the WWW-Authenticate scheme, e.g. "Basic"
    manifest_fetched: bool
    blobs_fetched: list[str]  # digests fetched, in order (config and new layers)
    redirected: int  # blob GETs answered 307 to storage
    from_storage: int  # GETs served by the storage URL
    skipped: list[str]  # layers the client already had (never requested)
    config: str = ""

    def rows(self) -> list[list[str]]:
        layers = [d for d in self.blobs_fetched if d != self.config]
        return [
            ["1", "GET /v2/ without credentials",
             f"401 + challenge ({self.challenge})" if self.challenged else "no challenge"],
            ["2", "GET the manifest (with Basic AWS:<password>)",
             "200" if self.manifest_fetched else "not fetched"],
            ["3", "GET the config blob",
             "307 to storage, then 200" if self.config in self.blobs_fetched else "not fetched"],
            ["4", "GET each missing layer",
             f"{len(layers)} fetched: 307 to storage, then 200"],
            ["5", "layers already here", f"{len(self.skipped)} skipped (never requested)"],
        ]

    def table(self) -> Table:
        return Table(["step", "request", "answer"], self.rows(), "what the registry saw")

    def __repr__(self) -> str:
        return repr(self.table())

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()


def pull_story(trace: Iterable[TraceRecord], report: TransferReport,
               config_digest: str = "") -> PullStory:
    """Read a pull's requests (the lab's trace since a mark) against the pull's report."""
    pull = reader.last_pull(trace, parse_ref(report.ref).repository)
    fetched = pull.fetched
    layer_digests = {x.digest for x in _layers(report)}
    if not config_digest:
        config_digest = next((x.digest for x in report.layers if x.kind == "config"), "") or \
            next((d for d in fetched if d not in layer_digests), "")
    skipped = [x.digest for x in _layers(report)
               if x.status == EXISTS_LOCAL and x.digest not in fetched]
    challenged = any(r.status == 401 for r in pull.pings[:1])
    return PullStory(challenged=challenged, challenge=pull.challenge or "none",
                     manifest_fetched=pull.manifest_fetched, blobs_fetched=fetched,
                     redirected=pull.redirected, from_storage=len(pull.downloads),
                     skipped=skipped, config=config_digest)


def downloaded(report: TransferReport) -> int:
    """Layers that actually crossed the wire in a pull."""
    return report.count(PULLED)


def figure_png(fig: Any) -> Any:
    """Render a matplotlib figure to an IPython Image and close it.

    nbval skips image/png when comparing, and an Image's text/plain is a fixed string, whereas
    a Figure's text/plain names its size, which depends on how many requests an engine made.
    """
    from IPython.display import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    try:
        import matplotlib.pyplot as plt

        plt.close(fig)
    except Exception:  # noqa: BLE001 - a figure made without pyplot needs no closing
        pass
    data = buf.getvalue()
    if not data.startswith(b"\x89PNG") or len(data) < 1000:
        raise ValueError("the figure did not render to a PNG")
    return Image(data=data, format="png")


def last_pull(lab: Any, since: int = 0, repository: str | None = None) -> Any:
    """The most recent pull the lab served after mark `since` (a terminal's `docker pull` too):
    `.table()`, `.figure()`; see `labkit.course.lastpull`."""
    from .lastpull import last_pull as pick

    return pick(lab, since, repository)
