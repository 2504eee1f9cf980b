"""Draw the pull flow as a sequence diagram: client, registry, auth, storage as lifelines.

It shows what the course explains in words: the 401 challenge and the authenticated retry, the
manifest (and its digest), the config, then each layer redirected (307) to a pre-signed storage
URL and downloaded there, or skipped because the client already had it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from ...engines.report import TransferReport
from ...trace.reader import last_pull
from . import flow as fl
from . import style as st

if TYPE_CHECKING:
    from ...ecr.images import ImageFacts
    from ...trace.record import TraceRecord

WIDTH = 11.0  # inches; fixed so every figure of the course has the same scale
X = {"client": 0.0, "registry": 1.3, "auth": 2.3, "storage": 3.3}
XLIM = (-0.78, 3.75)
HEADER = 1.3  # inches above the first message
FOOTER = 0.55
SUBTITLES = {
    "registry": "ECR API endpoint /v2/",
    "auth": "token check (Basic AWS:<token>)",
    "storage": "pre-signed S3-like URLs\n/_storage/...",
}
TONES = {"request": st.REQUEST, "ok": st.OK, "redirect": st.REDIRECT, "error": st.ERROR,
         "auth": st.AUTH}
SECTION_NAMES = {"authenticate": "authenticate", "manifest": "manifest", "config": "config",
                 "layers": "layers", "blobs": "config and layers", "other": "other requests"}


def _message_height(n_messages: int) -> float:
    """0.36 in per arrow, tighter for long pulls so the figure stays under ~16 in."""
    return max(0.24, min(0.36, 14.0 / max(n_messages, 1)))


def _height(f: fl.Flow, mh: float) -> float:
    body = 0.0
    for item in f.items:
        body += len(item.messages) * mh + 0.08 if isinstance(item, fl.Exchange) else 0.26
    return HEADER + body + FOOTER


def _header(ax: Axes, f: fl.Flow, bottom: float) -> None:
    ax.text(XLIM[0] + 0.02, 0.28, f.title, fontsize=12, fontweight="bold", va="center",
            ha="left", color=st.INK, gid="title")
    for name, x in X.items():
        subtitle = f.client if name == "client" else SUBTITLES[name]
        ax.add_patch(FancyBboxPatch((x - 0.4, 0.55), 0.8, 0.6, boxstyle="round,pad=0.02",
                                    fc=st.BOX, ec=st.GRID, lw=1))
        ax.text(x, 0.72, name, ha="center", va="center", fontsize=10, fontweight="bold",
                color=st.INK, gid="lifeline")
        ax.text(x, 0.96, subtitle, ha="center", va="center", fontsize=7, color=st.MUTED,
                linespacing=1.0)
        ax.plot([x, x], [1.17, bottom], color=st.GRID, lw=1, ls=(0, (4, 3)), zorder=0)


def _arrow(ax: Axes, m: fl.Message, y: float, count: int) -> None:
    color = TONES.get(m.tone, st.INK)
    x0, x1 = X[m.src], X[m.dst]
    ax.annotate("", xy=(x1, y), xytext=(x0, y), gid="arrow",
                arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.2,
                            "ls": (0, (5, 3)) if m.reply else "-", "shrinkA": 2,
                            "shrinkB": 2, "mutation_scale": 10})
    mid = (x0 + x1) / 2
    label = m.label + (f"  ×{count}" if count > 1 else "")
    box = {"boxstyle": "square,pad=0.03", "fc": "white", "ec": "none"}
    ax.text(mid, y - 0.025, label, ha="center", va="bottom", fontsize=8, color=color,
            fontweight="bold" if not m.reply else "normal", bbox=box, gid="label")
    if m.detail:
        ax.text(mid, y + 0.03, m.detail, ha="center", va="top", fontsize=6.5,
                color=st.MUTED, bbox=box, gid="detail")


def _sections(ax: Axes, spans: list[tuple[str, float, float]]) -> None:
    runs: list[list[Any]] = []
    for name, top, bottom in spans:
        if runs and runs[-1][0] == name:
            runs[-1][2] = bottom
        else:
            runs.append([name, top, bottom])
    for i, (name, top, bottom) in enumerate(runs, 1):
        x = XLIM[0] + 0.05
        ax.plot([x + 0.52, x + 0.52], [top + 0.05, bottom - 0.05], color=st.GRID, lw=2,
                solid_capstyle="butt")
        ax.text(x, (top + bottom) / 2, f"{i}. {SECTION_NAMES.get(name, name)}", ha="left",
                va="center", fontsize=8.5, color=st.MUTED, fontweight="bold", gid="section")


def draw(f: fl.Flow) -> Figure:
    """Render a Flow (see `labkit.course.diagrams.flow`) at a fixed width and per-message height."""
    mh = _message_height(len(f.messages) + len(f.skips))
    height = _height(f, mh)
    fig = st.figure(WIDTH, height)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(*XLIM)
    ax.set_ylim(height, 0)
    ax.axis("off")
    _header(ax, f, height - FOOTER + 0.1)
    y = HEADER
    spans: list[tuple[str, float, float]] = []
    for item in f.items:
        if isinstance(item, fl.Skip):
            ax.text(X["client"] + 0.06, y + 0.13, "↺ " + item.text, ha="left", va="center",
                    fontsize=8, color=st.INK, gid="skip",
                    bbox={"boxstyle": "round,pad=0.25", "fc": "#fff7d6", "ec": "#e5c76b"})
            spans.append(("layers" if item.kind == "layer" else "config", y, y + 0.26))
            y += 0.26
            continue
        top = y
        for k, m in enumerate(item.messages):
            _arrow(ax, m, y + mh * 0.55, item.count if k == 0 else 1)
            y += mh
        spans.append((item.section, top, y))
        y += 0.08
    _sections(ax, spans)
    n_req = f.requests or sum(x.count for x in f.items if isinstance(x, fl.Exchange))
    ax.text(XLIM[0] + 0.02, height - 0.22,
            f"drawn from the {f.source} ({n_req} requests) · solid: request · dashed: response"
            " · green 2xx · purple 307 redirect · red 4xx/5xx · orange: auth check",
            ha="left", va="center", fontsize=7, color=st.MUTED, gid="legend")
    return fig


@st.drawn
def pull_flow(requests: Sequence[TraceRecord], title: str = "", *,
              skipped: Iterable[tuple[str, int]] | None = None, config: str | None = None,
              digest: str | None = None, report: TransferReport | None = None,
              repository: str | None = None, image: ImageFacts | None = None) -> Figure:
    """The pull that really happened, from the lab's trace (`lab.trace(since=mark)`).

    `requests` may be a whole trace: the last pull of `repository` (default: the repository
    of the last manifest request) is picked out by `labkit.trace.last_pull`. What the image
    is comes from the registry (`image`, labkit.ecr.images.describe) or from the engine's
    pull `report` (or `skipped`, `config`, `digest` given yourself): it names the config
    blob, shows the manifest digest and boxes every blob skipped as already present.
    """
    requests = list(requests)
    pull = last_pull(requests, repository)
    if pull.found:
        requests = pull.records
    hints = dict(fl.report_hints(report))
    hints.update(fl.image_hints(image, pull.fetched if pull.found else ()))
    if skipped is not None:
        hints["skipped"] = list(skipped)
    if config is not None:
        hints["config"] = config
    if digest is not None:
        hints["digest"] = digest
    f = fl.build(requests, title=title, config=hints.get("config"), digest=hints.get("digest"),
                 skipped=hints.get("skipped") or (), layers=hints.get("layers"))
    return draw(f)


@st.drawn
def pull_flow_from_report(report: TransferReport, title: str = "") -> Figure:
    """The same diagram from an engine's pull report (real AWS: there is no lab trace)."""
    return draw(fl.from_report(report, title))
