"""Shared look and the plumbing every figure needs: one style, notebook-safe creation, stable files.

Figures are made with pyplot (so a notebook's inline backend knows how to show them) and closed at
once: the caller gets the Figure to display or save, and Jupyter does not show it a second time.
Saving goes through `save()`, which strips the timestamps and version strings matplotlib writes
into files, so regenerating `images/` only changes a file when the drawing changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

DPI = 100
FONT = "DejaVu Sans"  # ships with matplotlib: the same glyphs on every machine

INK = "#1f2933"
MUTED = "#6b7280"
GRID = "#c7ced6"
REQUEST = "#1f2933"
OK = "#1b7f3b"
REDIRECT = "#6d28d9"
ERROR = "#c0392b"
AUTH = "#b45309"
SHARED = "#3b82c4"
NEW = "#f28c28"
ONLY_OLD = "#c7ced6"
BOX = "#eef2f7"

RC: dict[str, Any] = {
    "font.family": FONT,
    "font.size": 9,
    "svg.hashsalt": "labkit",
    "svg.fonttype": "path",
    "path.simplify": False,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "savefig.facecolor": "white",
}

_METADATA: dict[str, dict[str, Any]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}


@contextmanager
def style() -> Iterator[None]:
    """The course's rcParams, only while a figure is drawn (the learner's own stay untouched)."""
    import matplotlib.pyplot as plt

    with plt.rc_context(RC):
        yield


def figure(width: float, height: float) -> Figure:
    """A pyplot figure of a fixed size, closed at once so a notebook shows it only when returned."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(width, height), dpi=DPI, facecolor="white")
    plt.close(fig)
    return fig


def drawn(fn: Callable[..., Figure]) -> Callable[..., Figure]:
    """Decorator: draw inside the course style."""

    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with style():
            return fn(*args, **kwargs)

    wrapper.__name__ = fn.__name__
    wrapper.__qualname__ = fn.__qualname__
    wrapper.__doc__ = fn.__doc__
    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper


def save(fig: Figure, path: str | Path) -> Path:
    """Write `fig` (format from the suffix) with no timestamps or versions: same drawing, same bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = path.suffix.lstrip(".").lower() or "png"
    with style():
        fig.savefig(path, format=fmt, dpi=DPI, facecolor="white",
                    metadata=_METADATA.get(fmt))
    return path
