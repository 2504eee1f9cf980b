"""The login command the kit prints names the registry's own region: from an ECR host name, or,
for the lab's addresses, from the port its home region or another region listens on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit import config
from labkit.ecr.login import for_registry, region_of


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    monkeypatch.delenv("LABKIT_REGION", raising=False)
    door = tmp_path / config.REGIONS_FOLDER / "eu-west-1" / config.DOOR_FILE
    door.parent.mkdir(parents=True)
    door.write_text(json.dumps({"port": 5401}))
    (tmp_path / config.REGIONS_FOLDER / "broken").mkdir()
    (tmp_path / config.REGIONS_FOLDER / "broken" / config.DOOR_FILE).write_text("{not json")
    return tmp_path


@pytest.mark.parametrize(("registry", "region"), [
    ("127.0.0.1:5401", "eu-west-1"),  # another region's registry of this home's lab
    ("localhost:5401", "eu-west-1"),
    ("127.0.0.1:5400", "us-east-1"),  # the lab's own port: the configured region
    ("[::1]:5402", "us-east-1"),  # a port no region has
    ("123456789012.dkr.ecr.ap-south-1.amazonaws.com", "ap-south-1"),  # real ECR: its host says
])
def test_region_of_a_registry(home: Path, registry: str, region: str) -> None:
    assert region_of(registry) == region


def test_the_printed_login_names_that_region(home: Path) -> None:
    assert for_registry("127.0.0.1:5401") == ("aws ecr get-login-password --region eu-west-1 | "
                                              "docker login --username AWS --password-stdin "
                                              "127.0.0.1:5401")


def test_without_regions_folder_the_configured_region(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "fresh"))
    monkeypatch.setenv("LABKIT_REGION", "eu-central-1")
    assert region_of("127.0.0.1:5401") == "eu-central-1"
