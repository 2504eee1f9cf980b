"""The course, as notebooks use it: the state machine (`state`: prepare(step)), `checks` (the
exercises', and the steps' from `stepchecks`), `views`, `observed` (push/pull reports from the
lab's trace), `lastpull`, `shell` (the kernel's env and `docker`), `bashcell` (the `%%bash`
cells) with `failures` (what a failed command's cell says under it) and `explained` (the lab's
explanation of the refusal, also `labkit explain`'s), `topics` (which notebook
teaches a hint's topic), the figures (`diagrams`) and the sample application (`sample`). What
the `labkit` commands do lives in `course.tools`.

`from labkit import course; course.prepare("04-push")` is what each notebook's first cell does.
"""

from __future__ import annotations

from .state import (
    EXERCISE_REPOSITORIES,
    NOTEBOOKS,
    REPOSITORY,
    Course,
    clean_local,
    context,
    course_local_refs,
    index,
    prepare,
)

__all__ = ["EXERCISE_REPOSITORIES", "NOTEBOOKS", "REPOSITORY", "Course", "clean_local", "context",
           "course_local_refs", "index", "prepare"]
