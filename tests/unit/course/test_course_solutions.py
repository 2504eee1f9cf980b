"""Folded solutions become runnable cells only in `--solutions` runs; permissions map requests."""

from __future__ import annotations

import nbformat
import pytest

from labkit.course.tools import permissions, solutions

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


@pytest.mark.parametrize(("method", "path", "action"), [
    ("HEAD", "/v2/hello-app/blobs/sha256:" + "a" * 64, "BatchCheckLayerAvailability"),
    ("GET", "/v2/team/app/blobs/sha256:" + "a" * 64, "GetDownloadUrlForLayer"),
    ("POST", "/v2/hello-app/blobs/uploads/", "InitiateLayerUpload"),
    ("PATCH", "/v2/hello-app/blobs/uploads/u1", "UploadLayerPart"),
    ("PUT", "/v2/hello-app/blobs/uploads/u1", "CompleteLayerUpload"),
    ("PUT", "/v2/hello-app/manifests/v1", "PutImage"),
    ("HEAD", "/v2/hello-app/manifests/v1", "BatchGetImage"),
    ("GET", "/v2/", None),
    ("GET", "/_storage/blobs/sha256/aa", None),
])
def test_registry_requests_map_to_ecr_actions(method: str, path: str, action: str | None) -> None:
    assert permissions.registry_action(method, path) == action


def test_used_merges_api_operations_and_registry_requests() -> None:
    got = permissions.used(["CreateRepository"], [{"method": "PUT",
                                                   "path": "/v2/x/manifests/v1"}])
    assert got == ["ecr:CreateRepository", "ecr:PutImage", "ecr:TagResource"]
