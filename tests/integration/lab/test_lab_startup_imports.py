"""`labkit lab up` and the lab it starts import none of the heavy libraries before the first
CreateRepository is answered (issue 12's start-up budget): the import list comes from Python's
own `-X importtime` report of the real CLI and the real lab, started both ways."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from labkit import config

# botocore alone cost more CPU than the rest of the lab's start; moto brings Flask. (werkzeug is
# not here: it is the registry's own request toolkit, ~0.04 s, built with the app.)
HEAVY = ("botocore", "boto3", "moto", "requests", "matplotlib", "flask")


def _imported(report: str) -> set[str]:
    """Top-level package names in an `-X importtime` report."""
    names = set()
    for line in report.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.mark.parametrize("method", ["fork", "portable"])
def test_lab_up_to_first_create_repository_imports_no_heavy_library(tmp_path: Path,
                                                                     method: str) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "LABKIT_START": method, "PYTHONPROFILEIMPORTTIME": "1"}
    up = subprocess.run([sys.executable, "-m", "labkit", "lab", "up", "--home", str(home),
                         "--port", "0"], env=env, capture_output=True, text=True, timeout=120)
    try:
        assert up.returncode == 0, up.stderr[-2000:]
        state = json.loads((home / "lab.json").read_text())
        ecr = boto3.client("ecr", endpoint_url=f"http://127.0.0.1:{state['port']}",
                           region_name=state["region"], aws_access_key_id=config.LAB_ACCESS_KEY,
                           aws_secret_access_key=config.LAB_SECRET_KEY)
        made = ecr.create_repository(repositoryName="startup/imports")
        assert made["repository"]["repositoryName"] == "startup/imports"
        cli, lab = _imported(up.stderr), _imported((home / "lab.log").read_text())
        assert "labkit" in cli and "granian" in (lab if method == "portable" else cli | lab)
        assert not (cli | lab) & set(HEAVY), sorted((cli | lab) & set(HEAVY))
    finally:
        subprocess.run([sys.executable, "-m", "labkit", "lab", "down", "--home", str(home)],
                       capture_output=True, timeout=60)


def test_the_lab_starts_without_importing_botocore_boto3_or_moto() -> None:
    code = ("import sys, labkit.lab.process.main, labkit.lab.control.validation as v\n"
            "v.check(v.operation('CreateRepository'), {'repositoryName': 'a/b'})\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'botocore', 'boto3', 'moto', 'requests', 'matplotlib', 'flask'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
