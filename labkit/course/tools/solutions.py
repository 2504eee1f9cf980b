"""Exercise solutions: folded in markdown for the learner, runnable for CI.

A solution is a markdown cell holding a Carpentries-style block,
`<details><summary>Solution</summary> ... </details>`, with the commands in fenced code blocks
(```bash or ```python). A learner opens it on purpose; nothing in it runs, and it has no output.
`labkit course run --solutions` turns each fenced block into a code cell right after the
markdown (so before the exercise's check cell) and exports LABKIT_SOLUTIONS=1, which makes the
checks strict: every exercise is proven solvable, in both engines.
"""

from __future__ import annotations

import re
from typing import Any

SUMMARY = re.compile(r"<details>\s*<summary>\s*Solution\s*</summary>(?P<body>.*?)</details>",
                     re.S | re.I)
FENCE = re.compile(r"```(?P<lang>bash|python)[^\n]*\n(?P<code>.*?)```", re.S)


def is_solution(cell: Any) -> bool:
    return cell.get("cell_type") == "markdown" and bool(SUMMARY.search(cell.get("source", "")))


def blocks(source: str) -> list[tuple[str, str]]:
    """(language, code) of each fenced block inside the folded solution(s) of `source`."""
    out = []
    for m in SUMMARY.finditer(source):
        out += [(f.group("lang"), f.group("code").rstrip() + "\n")
                for f in FENCE.finditer(m.group("body"))]
    return out


def as_cell_source(lang: str, code: str) -> str:
    """A bash block runs as a `%%bash` cell: exactly what a terminal would run."""
    return f"%%bash\n{code}" if lang == "bash" else code


def unfold(nb: Any) -> int:
    """Insert each solution's code cells after its markdown cell; return how many were added."""
    import nbformat

    cells, added = [], 0
    for cell in nb.cells:
        cells.append(cell)
        if is_solution(cell):
            for lang, code in blocks(cell.source):
                new = nbformat.v4.new_code_cell(as_cell_source(lang, code))
                new.metadata["tags"] = ["solution-run"]
                cells.append(new)
                added += 1
    nb.cells = cells
    return added
