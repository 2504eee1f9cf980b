"""The kit at a glance (`architecture()`): the learner's tools, labkit, the local lab, and real AWS (opt-in).

A static drawing (no run needed) that mirrors DESIGN.md's sketch, for the README.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from . import style as st

WIDTH, HEIGHT = 11.0, 6.2


def _box(ax: Axes, x: float, y: float, w: float, h: float, title: str, body: str = "",
         fc: str = st.BOX, ec: str = st.GRID) -> None:
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.04", fc=fc, ec=ec, lw=1.2,
                                gid="box"))
    ax.text(x + w / 2, y + 0.22, title, ha="center", va="center", fontsize=9.5,
            fontweight="bold", color=st.INK, gid="box-title")
    if body:
        ax.text(x + w / 2, y + 0.42, body, ha="center", va="top", fontsize=7.5, color=st.MUTED,
                linespacing=1.35)


def _link(ax: Axes, start: tuple[float, float], end: tuple[float, float], label: str = "",
          color: str = st.INK, dashed: bool = False, left: bool = False) -> None:
    ax.annotate("", xy=end, xytext=start, gid="arrow",
                arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.3,
                            "ls": (0, (5, 3)) if dashed else "-", "shrinkA": 3, "shrinkB": 3})
    if label:
        x = (start[0] + end[0]) / 2 + (-0.08 if left else 0.08)
        ax.text(x, start[1] + 0.2, label, ha="right" if left else "left",
                va="center", fontsize=7.5, color=color,
                bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none"})


@st.drawn
def architecture() -> Figure:
    """Client side above; the lab (one process, one loopback port) and real AWS below."""
    fig = st.figure(WIDTH, HEIGHT)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(HEIGHT, 0)
    ax.axis("off")
    ax.text(0.2, 0.3, "ECR Lab Kit: where each request goes", fontsize=12, fontweight="bold",
            va="center", color=st.INK, gid="title")
    _box(ax, 0.4, 0.7, 3.2, 1.0, "notebooks (the course)", "one notebook per step")
    _box(ax, 4.2, 0.7, 3.6, 1.0, "terminal", "aws ecr ...  ·  docker login/tag/push/pull\nskopeo")
    _box(ax, 0.4, 2.15, 5.9, 0.95, "labkit (Python)",
         "ecr: repositories, login  ·  engine: docker or builtin\nreport + diagrams")
    # the lab
    ax.add_patch(FancyBboxPatch((0.3, 3.55), 7.6, 2.3, boxstyle="round,pad=0.05", fc="white",
                                ec=st.SHARED, lw=1.5, ls=(0, (5, 3))))
    ax.text(0.45, 3.75, "the lab: one process on 127.0.0.1:PORT (state in LABKIT_HOME)",
            fontsize=8.5, fontweight="bold", color=st.SHARED, va="center", gid="box-title")
    _box(ax, 0.5, 4.05, 2.35, 1.6, "/v2/ registry", "OCI Distribution\nwith ECR's rules\n"
         "Basic AWS:<token>", fc="#e6f0fa")
    _box(ax, 3.0, 4.05, 2.3, 1.6, "/_storage/", "pre-signed blob URLs\n(S3-like, expiring)\n"
         "blob GET → 307 here", fc="#e6f0fa")
    _box(ax, 5.45, 4.05, 2.3, 1.6, "ECR API", "same store as /v2/\n"
         "GetAuthorizationToken\nCreateRepository ...", fc="#e6f0fa")
    # real AWS
    ax.add_patch(FancyBboxPatch((8.35, 0.7), 2.45, 5.15, boxstyle="round,pad=0.05",
                                fc="#fff7ed", ec=st.NEW, lw=1.5))
    ax.text(9.57, 0.95, "real AWS (opt-in)", ha="center", fontsize=9.5, fontweight="bold",
            color=st.NEW, va="center", gid="box-title")
    ax.text(9.57, 1.25, "LABKIT_TARGET=aws", ha="center", fontsize=7.5, color=st.MUTED,
            va="center")
    _box(ax, 8.5, 1.6, 2.15, 1.15, "ECR API", "ecr.REGION\n.amazonaws.com", fc="white")
    _box(ax, 8.5, 2.95, 2.15, 1.3, "registry", "ACCOUNT.dkr.ecr\n.REGION.amazonaws.com",
         fc="white")
    _box(ax, 8.5, 4.45, 2.15, 1.2, "S3 layer storage", "pre-signed URLs\n(20 min)",
         fc="white")
    _link(ax, (2.0, 1.75), (2.0, 2.1), "Python API")
    _link(ax, (7.1, 1.75), (7.1, 3.55), "aws --endpoint-url ...\ndocker push 127.0.0.1:PORT/...",
          color=st.MUTED, dashed=True, left=True)
    _link(ax, (2.0, 3.15), (2.0, 3.95), "registry calls")
    _link(ax, (4.1, 3.15), (4.1, 3.95), "layer downloads")
    _link(ax, (5.2, 3.15), (5.8, 3.95), "boto3")
    _link(ax, (6.35, 2.45), (8.45, 2.45), "", color=st.NEW, dashed=True)
    _link(ax, (7.85, 1.2), (8.45, 1.2), "", color=st.NEW, dashed=True)
    return fig
