"""What a check answers: `Passed` (an exercise solved), `NotYet` (what is still missing),
`Checked` (a step's command did its job), or it raises `CheckFailed` (what it found, what is
missing), which IPython shows as that sentence, without a traceback.
"""

from __future__ import annotations

import html
from dataclasses import dataclass


class CheckFailed(AssertionError):
    """A check found the step or exercise not done; the message says what it found and what is
    missing."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback: the learner's state, not the kit's code."""
        return [f"check failed: {self}"]


def need(ok: bool, message: str) -> None:
    """Raise CheckFailed(message) unless `ok`."""
    if not ok:
        raise CheckFailed(message)


@dataclass(frozen=True)
class Passed:
    message: str

    def __repr__(self) -> str:
        return f"correct: {self.message}"

    def _repr_html_(self) -> str:
        return f"<b style='color:green'>&#10004; correct:</b> {html.escape(self.message)}"


@dataclass(frozen=True)
class NotYet:
    """An unsolved exercise: what is still missing (shown, not raised)."""

    message: str

    def __repr__(self) -> str:
        return f"not yet: {self.message}"

    def _repr_html_(self) -> str:
        return f"<b style='color:#b45309'>&#9998; not yet:</b> {html.escape(self.message)}"


@dataclass(frozen=True)
class Checked:
    """A step check that passed: what it found, in one line."""

    message: str

    def __repr__(self) -> str:
        return self.message

    def _repr_html_(self) -> str:
        return f"<b style='color:green'>&#10004;</b> {html.escape(self.message)}"
