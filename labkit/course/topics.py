"""Where the course teaches each topic a hint names: the one table from topic to notebook.

The client (`labkit.engines.hints`, `labkit.ecr.errors`, the built-in engine) says only what a
failure is about ("authenticate", "create-repository"); the course decides which notebook
teaches it, so renaming or reordering notebooks touches this table and nothing in the client.
"""

from __future__ import annotations

from .state import NOTEBOOKS, index

# topic -> the course step that teaches it (a NOTEBOOKS number, resolved by `index`)
TOPICS: dict[str, str] = {
    "create-repository": "01",
    "authenticate": "02",
    "tag": "03",
    "push": "04",
    "immutable-tags": "05",
    "pull": "06",
    "permissions": "08",  # IAM identity policies (the pull-only CI user)
}


def notebook(topic: str) -> str:
    """The name of the notebook that teaches `topic` ("02-authenticate"); KeyError if the course
    has no such topic (a hint naming one is a bug, caught by the unit tests)."""
    return NOTEBOOKS[index(TOPICS[topic])]
