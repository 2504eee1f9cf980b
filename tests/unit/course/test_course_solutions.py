"""Folded solutions become runnable cells only in `--solutions` runs; permissions come from
the ECR actions the lab recorded."""

from __future__ import annotations

import nbformat
import pytest

from labkit.course.tools import permissions, solutions
from labkit.trace.record import TraceRecord

FOLDED = """Some text.

<details>
<summary>Solution</summary>

```bash
aws ecr create-repository --repository-name notes-app
```

```python
answer = 1
```

Why: one repository per image.
</details>"""


def test_blocks_are_read_from_the_folded_solution_only() -> None:
    text = "```bash\necho not a solution\n```\n" + FOLDED
    assert solutions.blocks(text) == [
        ("bash", "aws ecr create-repository --repository-name notes-app\n"),
        ("python", "answer = 1\n")]
    assert solutions.blocks("```bash\necho hi\n```") == []


def test_unfold_puts_the_code_before_the_check() -> None:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## Exercise"),
        nbformat.v4.new_markdown_cell(FOLDED),
        nbformat.v4.new_code_cell('checks.repository_created(c, "notes-app")'),
    ])
    assert solutions.unfold(nb) == 2
    kinds = [(c.cell_type, c.source.splitlines()[0]) for c in nb.cells]
    assert kinds == [("markdown", "## Exercise"), ("markdown", "Some text."),
                     ("code", "%%bash"), ("code", "answer = 1"),
                     ("code", 'checks.repository_created(c, "notes-app")')]
    assert nb.cells[2].metadata["tags"] == ["solution-run"]


def test_update_never_writes_solved_notebooks(tmp_path) -> None:  # noqa: ANN001
    from labkit.course.tools import runner

    with pytest.raises(ValueError, match="unsolved"):
        runner.run(["00-setup"], tmp_path, None, update=True, solutions=True)


def test_used_merges_api_operations_and_the_actions_the_lab_recorded() -> None:
    put = TraceRecord(method="PUT", route="manifest", action="PutImage", repository="x")
    ping = TraceRecord(method="GET", route="base")
    got = permissions.used(["CreateRepository"], [put, ping])
    assert got == ["ecr:CreateRepository", "ecr:PutImage", "ecr:TagResource"]
