"""The course: notebooks' state machine (`state`), headless runner, views and checks, the
workshop doctor, the figures (`diagrams`) and the sample application (`sample`).

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
