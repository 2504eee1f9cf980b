"""Every sentence the access engine gives as AWS's is in the fixture with its source, and renders
the text seen at that source."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest

from labkit.lab.access import messages as M

FIXTURE = Path(__file__).parents[2] / "fixtures" / "ecr_messages_access.json"
ROWS = json.loads(FIXTURE.read_text("utf-8"))
DOCKER_PREFIX = "denied: "  # docker prints it before a registry's DENIED message


def test_fixture_and_module_list_the_same_messages() -> None:
    assert {r["key"] for r in ROWS} == set(M.CATALOG)
    for row in ROWS:
        m = M.CATALOG[row["key"]]
        assert row["message"] == m.template
        assert row["codes"] == {"json": m.json_code, "query": m.query_code}
        assert row["source_url"] and row["where"] and row["kind"]


def test_each_source_url_is_beside_its_message_in_the_module() -> None:
    source = Path(M.__file__).read_text("utf-8")
    for row in ROWS:
        if row["source_url"].startswith("http"):
            assert row["source_url"] in source, row["key"]


def _pattern(template: str) -> re.Pattern[str]:
    out = ""
    for literal, field, _, _ in string.Formatter().parse(template):
        out += re.escape(literal)
        if field is not None:
            out += "(.+?)" if field != "missing" else "(.*?)"
    return re.compile(out, re.DOTALL)


@pytest.mark.parametrize("row", [r for r in ROWS if r["example"]], ids=lambda r: r["key"])
def test_template_renders_the_text_seen_at_the_source(row: dict[str, str]) -> None:
    example = row["example"]
    if example.startswith(DOCKER_PREFIX):
        example = example[len(DOCKER_PREFIX):]
    # issue titles trim trailing spaces; the wire keeps them
    assert _pattern(row["message"].rstrip()).fullmatch(example.rstrip()), row["key"]
