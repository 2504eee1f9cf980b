"""The kit's one shape of error a learner reads: what failed, what to do, what to type."""

from __future__ import annotations


class GuidedError(RuntimeError):
    """A failure with guidance: `hint` says what to do next, `command` what to type."""

    def __init__(self, message: str, hint: str = "", command: str = ""):
        super().__init__(message)
        self.hint = hint
        self.command = command

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback: a learner's mistake (push before login,
        a missing repository) is not a bug in the kit, so its internals stay out of sight."""
        return [f"{type(self).__name__}: {self}"]

    def __str__(self) -> str:
        out = super().__str__()
        if self.hint:
            out += f"\n  hint: {self.hint}"
        if self.command:
            out += f"\n  try: {self.command}"
        return out


def taught_in(topic: str | None) -> str:
    """The course notebook that teaches `topic` ("" for none). The client names topics; the
    course's one table (`labkit.course.topics`) maps them, looked up only when a hint is shown."""
    if not topic:
        return ""
    from .course.topics import notebook

    return notebook(topic)
