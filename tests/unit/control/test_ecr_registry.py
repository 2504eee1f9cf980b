"""One ECR registry's state, and the small rules shared by several operations: registries side
by side under their own directories, paging, resource tags, scan filters."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.lab.control.ecr_registry import EcrRegistry, RegistryFiles, paged
from labkit.lab.control.errors import EcrError, InvalidTagParameter, TooManyTags
from labkit.lab.control.operations.scanning import filter_matches
from labkit.lab.control.repository_rules import check_tags


def test_registries_under_their_own_directories_share_nothing(tmp_path: Path) -> None:
    """The seam for a registry per (account, region): open two, each sees only its own."""
    one = EcrRegistry.open(RegistryFiles.under(tmp_path / "111111111111" / "us-east-1"),
                           "111111111111", "us-east-1", lambda: "lab:1")
    two = EcrRegistry.open(RegistryFiles.under(tmp_path / "222222222222" / "eu-west-1"),
                           "222222222222", "eu-west-1", lambda: "lab:2")
    one.store.create_repository("app", {})
    one.settings.change(lambda s: s.__setitem__("registryPolicy", "{}"))
    assert one.exists("app") and not two.exists("app")
    assert two.settings.get("registryPolicy") is None
    assert one.arn("app") == "arn:aws:ecr:us-east-1:111111111111:repository/app"
    assert two.uri("app") == "lab:2/app"
    with pytest.raises(EcrError) as e:
        two.record({"repositoryName": "app"})
    assert e.value.code == "RepositoryNotFoundException" and "222222222222" in e.value.message
    assert RegistryFiles.in_home(tmp_path).store == tmp_path / "registry"  # labs as they were


def test_paging_with_next_tokens() -> None:
    items = list(range(250))
    first = paged("xs", items, {})
    assert first["xs"] == items[:100] and first["nextToken"] == "100"
    last = paged("xs", items, {"nextToken": "200", "maxResults": 100})
    assert last == {"xs": items[200:]}
    for bad in ("abc", "-5"):
        with pytest.raises(EcrError) as e:
            paged("xs", items, {"nextToken": bad})
        assert e.value.code == "InvalidParameterException"


@pytest.mark.parametrize("tags", [[{"Key": "aws:x", "Value": ""}], [{"Key": "AWS:x"}],
                                  [{"Key": ""}], [{"Key": "k" * 129}],
                                  [{"Key": "k", "Value": "v" * 257}]])
def test_resource_tags_ecr_refuses(tags: list) -> None:
    with pytest.raises(InvalidTagParameter):
        check_tags(tags)


def test_resource_tags_at_the_limits() -> None:
    assert check_tags([{"Key": "k" * 128, "Value": "v" * 256}]) == [
        {"Key": "k" * 128, "Value": "v" * 256}]
    assert check_tags([{"Key": "k"}]) == [{"Key": "k", "Value": ""}]
    with pytest.raises(TooManyTags):
        check_tags([{"Key": f"k{i}", "Value": ""} for i in range(51)])


@pytest.mark.parametrize(("pattern", "name", "hit"), [
    ("prod", "team/prod-api", True), ("prod", "dev", False),  # no wildcard: contains
    ("prod-*", "prod-api", True), ("prod-*", "team/prod-api", False), ("*", "anything", True)])
def test_scan_filters_as_the_user_guide_says(pattern: str, name: str, hit: bool) -> None:
    assert filter_matches(pattern, name) is hit
