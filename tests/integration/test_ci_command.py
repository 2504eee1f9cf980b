"""The README opens with the course's command and the test command, and CI runs the latter."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _block_after(text: str, marker: str) -> str:
    """The ```bash block that follows `<!-- marker -->` in the README."""
    after = text.split(f"<!-- {marker} -->", 1)[1]
    return after.split("```bash\n", 1)[1].split("\n```", 1)[0]


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_command() -> None:
    text = (ROOT / "README.md").read_text()
    head = "\n".join(text.split("\n## ", 2)[:2])
    assert "<!-- main-command -->" in head and "<!-- test-command -->" in head, \
        "the commands must be in the first section"
    assert "labkit course run" in _block_after(text, "main-command")
    command = _block_after(text, "test-command")
    assert "pytest" in command
    r = subprocess.run(["bash", str(ROOT / ".ci" / "run"), "--print-test-command"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == command.strip(), "`.ci/run` would not run the README's command"
