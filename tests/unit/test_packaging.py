"""pyproject.toml and environment.yml must install the same things."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# PyPI name -> conda-forge name(s) where they differ.
CONDA_NAMES = {"docker": ["docker-py"], "matplotlib": ["matplotlib-base"],
               "moto": ["moto", "flask", "flask-cors"]}


def _name_and_spec(req: str) -> tuple[str, str]:
    m = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(.*)$", req.strip())
    assert m, req
    return m.group(1).lower(), m.group(3).replace(" ", "")


def _conda_deps() -> dict[str, str]:
    out = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.match(r"^\s+-\s+([A-Za-z0-9_.-]+)\s*([<>=!,.0-9]*)\s*$", line)
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


def test_environment_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"]) + list(project["optional-dependencies"]["test"])
    conda = _conda_deps()
    for req in reqs:
        name, spec = _name_and_spec(req)
        for conda_name in CONDA_NAMES.get(name, [name]):
            assert conda_name in conda, f"{req} from pyproject.toml is missing in environment.yml"
            if conda_name in (name, "docker-py", "matplotlib-base"):
                assert conda[conda_name] == spec, (
                    f"{conda_name}: environment.yml says {conda[conda_name]!r}, "
                    f"pyproject.toml says {spec!r}")
    python = project["requires-python"]
    assert conda["python"] == python
