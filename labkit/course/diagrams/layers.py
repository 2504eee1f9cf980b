"""Layer reuse between two versions: v1 and v2 as stacks of layers, shared ones linked.

It makes the lesson of "push a second version" visible: layers are matched by digest, only the
new ones travel, and the bytes each push (and pull) actually moved are written under each stack.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Patch

from ...engines.builtin.refs import parse as parse_ref
from ...engines.report import EXISTS_LOCAL, PULLED, LayerOutcome, TransferReport, human_bytes
from ...oci.digest import short
from . import style as st

WIDTH = 12.0
BOX_W = 2.8
BOX_H = 0.5
GAP = 0.12
COLUMNS = (0.4, 6.5)  # left edge of each stack, in inches
TOP = 1.25
BOTTOM = 1.35


def _blobs(report: TransferReport) -> list[LayerOutcome]:
    """Layers bottom (base) first, then the config on top."""
    layers = [x for x in report.layers if x.kind != "config"]
    return layers + [x for x in report.layers if x.kind == "config"]


def _version(report: TransferReport) -> str:
    return parse_ref(report.ref).reference if report.ref else report.action


def _pulled(pull: TransferReport | None, digest: str) -> LayerOutcome | None:
    if pull is None:
        return None
    return next((x for x in pull.layers if x.digest == digest), None)


def _verb(report: TransferReport) -> str:
    return "received" if report.action == "pull" else "sent"


def _outcome_text(x: LayerOutcome, action: str, pull: LayerOutcome | None) -> str:
    verb = "received" if action == "pull" else "sent"
    text = f"{action}: {x.status} · {human_bytes(x.moved) if x.moved else '0 B'} {verb}"
    if pull is not None:
        moved = f"{human_bytes(pull.moved)} received" if pull.moved else "0 B received"
        text += f"\npull: {pull.status} · {moved}"
    return text


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _summary(report: TransferReport, pull: TransferReport | None) -> str:
    layers = [x for x in report.layers if x.kind != "config"]
    sent = [x for x in layers if x.moved]
    cfg = sum(x.moved for x in report.layers if x.kind == "config")
    lines = [f"{report.action} {_version(report)}: {len(sent)} of {len(layers)} layers "
             f"{_verb(report)}, "
             f"{human_bytes(sum(x.moved for x in layers))}"
             + (f" (+ config {human_bytes(cfg)})" if cfg else "")]
    if pull is not None:
        got = [x for x in pull.layers if x.kind != "config" and x.status.startswith(PULLED)]
        had = [x for x in pull.layers if x.kind != "config"
               and x.status.startswith(EXISTS_LOCAL)]
        lines.append(f"pull {_version(pull)}: {_n(len(got), 'layer')} downloaded, {len(had)} "
                     f"already present, {human_bytes(pull.bytes_moved)} received")
    return "\n".join(lines)


def _stack(ax: Axes, left: float, base: float, report: TransferReport,
           pull: TransferReport | None, shared: set[str], new_color: str, unshared: str
           ) -> dict[str, float]:
    """Draw one column; returns the y (box middle) of each layer digest, for the links."""
    mids: dict[str, float] = {}
    for i, x in enumerate(_blobs(report)):
        top = base - (i + 1) * (BOX_H + GAP) + GAP
        is_shared = x.digest in shared
        color = st.SHARED if is_shared else new_color
        ax.add_patch(FancyBboxPatch((left, top), BOX_W, BOX_H, boxstyle="round,pad=0.01",
                                    fc=color, ec="white", lw=1.5, alpha=0.9, gid="layer",
                                    hatch="//" if x.kind == "config" else None))
        name = "config" if x.kind == "config" else f"layer {i + 1}"
        ax.text(left + 0.1, top + 0.17, f"{name}  {short(x.digest)}  {human_bytes(x.size)}",
                ha="left", va="center", fontsize=8.5, fontweight="bold", color=st.INK,
                gid="layer-label")
        ax.text(left + 0.1, top + 0.36, "shared" if is_shared else unshared, ha="left",
                va="center", fontsize=7, color=st.INK, style="italic")
        ax.text(left + BOX_W + 0.1, top + BOX_H / 2,
                _outcome_text(x, report.action, _pulled(pull, x.digest)), ha="left",
                va="center",
                fontsize=7, color=st.INK if x.moved else st.MUTED, gid="outcome")
        mids[x.digest] = top + BOX_H / 2
    return mids


@st.drawn
def layer_reuse(v1: TransferReport, v2: TransferReport, pull_v1: TransferReport | None = None,
                pull_v2: TransferReport | None = None, title: str = "") -> Figure:
    """v1 and v2 side by side, each layer marked shared or new (by digest), with bytes moved.

    `v1`, `v2` are the push reports (pull reports work too: then the bytes are those
    received); `pull_v1`, `pull_v2` (optional) add what each pull moved.
    """
    d1 = {x.digest for x in v1.layers}
    d2 = {x.digest for x in v2.layers}
    shared = d1 & d2
    n = max(len(v1.layers), len(v2.layers), 1)
    stack_h = n * (BOX_H + GAP)
    height = TOP + stack_h + BOTTOM
    fig = st.figure(WIDTH, height)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(height, 0)
    ax.axis("off")
    name = parse_ref(v2.ref).repository if v2.ref else "image"
    ax.text(0.2, 0.3, title or f"Layer reuse: {name} {_version(v1)} → {_version(v2)}",
            fontsize=12, fontweight="bold", va="center", color=st.INK, gid="title")
    ax.text(0.2, 0.62, "Layers are matched by digest: a layer already in the repository is not "
            "sent again; only new layers (and the small config) travel.", fontsize=8.5,
            va="center", color=st.MUTED)
    base = TOP + stack_h
    for left, report in zip(COLUMNS, (v1, v2), strict=True):
        ax.text(left + BOX_W / 2, TOP - 0.2, _version(report), ha="center", va="center",
                fontsize=11, fontweight="bold", color=st.INK, gid="column")
    m1 = _stack(ax, COLUMNS[0], base, v1, pull_v1, shared, st.ONLY_OLD,
                f"only in {_version(v1)}")
    m2 = _stack(ax, COLUMNS[1], base, v2, pull_v2, shared, st.NEW, f"new in {_version(v2)}")
    for digest in sorted(shared, key=lambda d: m2.get(d, 0)):
        ax.annotate("", xy=(COLUMNS[1], m2[digest]), xytext=(COLUMNS[1] - 0.8,
                                                              m1[digest]),
                    gid="link", arrowprops={"arrowstyle": "-|>", "color": st.SHARED,
                                            "lw": 1.2, "ls": (0, (4, 3)),
                                            "connectionstyle": "arc3,rad=0.0"})
    for left, report, pull in ((COLUMNS[0], v1, pull_v1), (COLUMNS[1], v2, pull_v2)):
        ax.text(left, base + 0.25, _summary(report, pull), ha="left", va="top", fontsize=8.5,
                color=st.INK, gid="summary", linespacing=1.5)
    handles = [Patch(fc=st.SHARED, label="shared (same digest in both)"),
               Patch(fc=st.NEW, label=f"new in {_version(v2)}"),
               Patch(fc=st.ONLY_OLD, label=f"only in {_version(v1)}")]
    fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False, fontsize=8,
               bbox_to_anchor=(0.5, 0.01))
    return fig
