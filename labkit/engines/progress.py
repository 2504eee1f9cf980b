"""Progress of layer transfers, shared by both engines: one bar per layer, in bytes.

Drawn where the learner looks, in the form that place can show:
- in a Jupyter kernel (JupyterLab, and nbclient/nbconvert runs): one HTML bar per layer, updated
  in place through a display handle (no ipywidgets needed). Its text/plain form is one plain
  line, so a notebook executed headless saves the final state as text: never escape codes;
- on a terminal (stderr is a tty): tqdm bars;
- anywhere else it was switched on (LABKIT_PROGRESS=1 with stderr piped to a file or a log):
  one plain line per layer when it finishes, no carriage returns.
Text goes to stderr (never stdout). Bars are off when LABKIT_PROGRESS=0, when a call passes
`progress=False`, or when nobody watches (stderr is not a terminal and we are not in a kernel).
"""

from __future__ import annotations

import html
import os
import sys
import time
from types import TracebackType
from typing import Protocol

UPDATE_EVERY = 0.2  # seconds between two redraws of a notebook bar


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, or a headless nbclient/nbconvert run)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - any IPython oddity means "not a notebook"
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def _on_terminal() -> bool:
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def enabled(progress: bool = True) -> bool:
    """Whether bars should be drawn for this call."""
    if not progress:
        return False
    setting = os.environ.get("LABKIT_PROGRESS", "").strip().lower()
    if setting in ("0", "false", "no", "off"):
        return False
    if setting in ("1", "true", "yes", "on"):
        return True
    return _in_notebook() or _on_terminal()


def _size(n: float) -> str:
    from tqdm import tqdm

    return f"{tqdm.format_sizeof(n, 'B', divisor=1000)}"


def plain_line(label: str, n: int, total: int, status: str = "") -> str:
    """One layer's state as text: `1a2b3c4d5e6f Pushing  1.20MB / 2.40MB (50%)  Pushed`."""
    amount = f"{_size(n)} / {_size(total)}" if total else _size(n)
    percent = f" ({min(100, n * 100 // total)}%)" if total else ""
    return f"{label}  {amount}{percent}" + (f"  {status}" if status else "")


class _View(Protocol):
    """Where one layer's progress is drawn."""

    def draw(self, n: int, total: int, status: str, final: bool) -> None: ...


class _NotebookView:
    """An HTML <progress> bar in a cell's output, replaced in place as bytes move."""

    def __init__(self, label: str):
        from IPython.display import display

        self.label = label
        self._last = 0.0
        self._handle = display(self._bundle(0, 0, ""), raw=True, display_id=True)

    def _bundle(self, n: int, total: int, status: str) -> dict[str, str]:
        bar = f'<progress value="{n}" max="{total or 1}" style="width: 16em"></progress>'
        text = html.escape(plain_line(self.label, n, total, status))
        return {"text/plain": plain_line(self.label, n, total, status),
                "text/html": f'<div class="labkit-progress">{bar} <code>{text}</code></div>'}

    def draw(self, n: int, total: int, status: str, final: bool) -> None:
        now = time.monotonic()
        if final or now - self._last >= UPDATE_EVERY:
            self._last = now
            self._handle.update(self._bundle(n, total, status), raw=True)


class _TerminalView:
    """tqdm on a terminal (which understands its carriage returns)."""

    def __init__(self, label: str, total: int):
        from tqdm.std import tqdm

        self._bar = tqdm(total=total, desc=label, unit="B", unit_scale=True, unit_divisor=1000,
                         leave=True, file=sys.stderr, dynamic_ncols=True, mininterval=0.2)

    def draw(self, n: int, total: int, status: str, final: bool) -> None:
        if self._bar.total != total:
            self._bar.total = total
        if n < self._bar.n:
            self._bar.reset(total=total)
        self._bar.update(n - self._bar.n)
        if final:
            if status:
                self._bar.set_postfix_str(status, refresh=False)
            self._bar.close()


class _LineView:
    """One plain line per layer when it finishes (a log or a pipe: no redraws)."""

    def __init__(self, label: str):
        self.label = label

    def draw(self, n: int, total: int, status: str, final: bool) -> None:
        if final:
            print(plain_line(self.label, n, total, status), file=sys.stderr, flush=True)


def _view(label: str, total: int) -> _View:
    if _in_notebook():
        return _NotebookView(label)
    if _on_terminal():
        return _TerminalView(label, total)
    return _LineView(label)


class LayerBar:
    """One layer's bar; a no-op when progress is off, so callers never branch."""

    def __init__(self, label: str, total: int, on: bool):
        self.n = 0
        self.total = total
        self._view: _View | None = _view(label, total) if on else None

    def _draw(self, status: str = "", final: bool = False) -> None:
        if self._view is not None:
            self._view.draw(self.n, self.total, status, final)
            if final:
                self._view = None

    def update(self, n: int) -> None:
        self.n += n
        self._draw()

    def set(self, current: int, total: int | None = None) -> None:
        """Jump to an absolute count (docker's progressDetail gives current/total, not deltas)."""
        if total is not None:
            self.total = total
        if current > self.n:
            self.update(current - self.n)

    def reset(self, n: int = 0) -> None:
        """Back to n bytes (a download restarted from scratch)."""
        self.n = n
        self._draw()

    def done(self, status: str) -> None:
        if not self.total:  # docker's push events give no total: a finished layer moved n of n
            self.total = self.n
        self._draw(status, final=True)

    def __enter__(self) -> LayerBar:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._draw(final=True)


class Progress:
    """Factory of layer bars for one push or pull."""

    def __init__(self, progress: bool = True):
        self.on = enabled(progress)

    def layer(self, digest: str, total: int, action: str = "") -> LayerBar:
        short = digest.split(":", 1)[-1][:12]
        return LayerBar(f"{short} {action}".strip(), total, self.on)


__all__ = ["LayerBar", "Progress", "enabled", "plain_line"]
