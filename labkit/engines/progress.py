"""Progress bars for layer transfers, shared by both engines: one bar per layer, in bytes.

Bars go to stderr (never stdout), so a notebook's committed outputs stay deterministic; they are
off when stderr is not a terminal and we are not in a notebook, when LABKIT_PROGRESS=0, or when
a call passes `progress=False`.
"""

from __future__ import annotations

import os
import sys
from types import TracebackType
from typing import Any


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (where tqdm.auto draws a widget or text)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - any IPython oddity means "not a notebook"
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def enabled(progress: bool = True) -> bool:
    """Whether bars should be drawn for this call."""
    if not progress:
        return False
    setting = os.environ.get("LABKIT_PROGRESS", "").strip().lower()
    if setting in ("0", "false", "no", "off"):
        return False
    if setting in ("1", "true", "yes", "on"):
        return True
    return _in_notebook() or bool(getattr(sys.stderr, "isatty", lambda: False)())


def _tqdm_class() -> Any:
    """tqdm.auto (a widget in a notebook with ipywidgets), else text tqdm: tqdm.auto would warn
    "IProgress not found" in a notebook without ipywidgets, before falling back to text."""
    if _in_notebook():
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            from tqdm.std import tqdm as text_tqdm

            return text_tqdm
    from tqdm.auto import tqdm

    return tqdm


class LayerBar:
    """One layer's bar; a no-op when progress is off, so callers never branch."""

    def __init__(self, label: str, total: int, on: bool):
        self._bar: Any = None
        self.n = 0
        if on:
            tqdm = _tqdm_class()
            self._bar = tqdm(total=total, desc=label, unit="B", unit_scale=True,
                             unit_divisor=1000, leave=True, file=sys.stderr,
                             dynamic_ncols=True, mininterval=0.2)

    def update(self, n: int) -> None:
        self.n += n
        if self._bar is not None:
            self._bar.update(n)

    def set(self, current: int, total: int | None = None) -> None:
        """Jump to an absolute count (docker's progressDetail gives current/total, not deltas)."""
        if total is not None and self._bar is not None and total != self._bar.total:
            self._bar.total = total
        if current > self.n:
            self.update(current - self.n)

    def reset(self, n: int = 0) -> None:
        """Back to n bytes (a download restarted from scratch)."""
        self.n = n
        if self._bar is not None:
            self._bar.reset(total=self._bar.total)
            self._bar.update(n)

    def done(self, status: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(status, refresh=False)
            self._bar.close()
            self._bar = None

    def __enter__(self) -> LayerBar:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class Progress:
    """Factory of layer bars for one push or pull."""

    def __init__(self, progress: bool = True):
        self.on = enabled(progress)

    def layer(self, digest: str, total: int, action: str = "") -> LayerBar:
        short = digest.split(":", 1)[-1][:12]
        return LayerBar(f"{short} {action}".strip(), total, self.on)
