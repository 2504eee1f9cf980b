"""Only the lab's router reads a registry URL: the course, `labkit trace` and the trace reader
read what the lab recorded (route, repository, reference, digest, action), never a path.

A grep, made a test: no line outside labkit/oci/routes.py (the router) and labkit/trace/
steps.py (which describes an engine's steps with that router) matches a `/v2/`, `/blobs/`,
`/manifests/` or `/_storage/` fragment, and no code reads a record's path as a dict key.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
READERS = [*sorted((ROOT / "labkit" / "course").rglob("*.py")),
           *sorted((ROOT / "labkit" / "cli").glob("*.py")),
           *sorted((ROOT / "labkit" / "trace").glob("*.py"))]
ALLOWED = {ROOT / "labkit" / "trace" / "steps.py"}
FRAGMENT = re.compile(r"/(v2|blobs|manifests|_storage|uploads)\b|tags/list")
MATCHING = re.compile(r"\bin\b|startswith|endswith|\bre\.|\.match\(|\.search\(|fullmatch|"
                      r"findall|\.split\(|rsplit|partition|==|!=|compile\(")
PATH_KEY = re.compile(r"""\[["']path["']\]|\.get\(["']path["']""")


def offending(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        code = line.split("#", 1)[0]
        if (FRAGMENT.search(code) and MATCHING.search(code)) or PATH_KEY.search(code):
            out.append(line.strip())
    return out


def notebook_code(path: Path) -> list[str]:
    cells = json.loads(path.read_text())["cells"]
    return [line for c in cells if c["cell_type"] == "code" for line in
            "".join(c["source"]).splitlines()]


@pytest.mark.parametrize("path", [p for p in READERS if p not in ALLOWED],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_reader_module_parses_a_path(path: Path) -> None:
    assert offending(path.read_text().splitlines()) == []


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")),
                         ids=lambda p: p.name)
def test_no_notebook_cell_parses_a_path(path: Path) -> None:
    assert offending(notebook_code(path)) == []


def test_the_check_finds_what_it_looks_for() -> None:
    """The grep is not blind: the old course code it replaced is caught."""
    old = ['blobs = [r for r in records if r.get("path", "").startswith(f"/v2/{repo}/blobs/")]',
           'asked = sum(1 for r in trace if r["method"] == "HEAD" and "/blobs/" in r["path"])',
           '_MANIFEST = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")',
           'if str(rec.path).startswith("/_storage/"):']
    assert len(offending(old)) == len(old)
    assert offending(['SUBTITLES = {"registry": "ECR API endpoint /v2/"}',
                      'label = f"{rec.method} {rec.path}"']) == []
