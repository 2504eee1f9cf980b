"""Load (issue 5): concurrent docker pushes and pulls, 50 concurrent pulls of one image, the
same layer pushed by two clients at once. Every digest is verified by the test itself."""

from __future__ import annotations

import pytest

from tests.conftest import lab_environ, unique
from tests.reliability import scenarios, support

pytestmark = pytest.mark.reliability


def test_same_layer_from_two_clients_at_once(lab) -> None:
    repo = unique("load/same")
    support.ecr(lab).create_repository(repositoryName=repo)
    outcome = scenarios.same_layer_race(lab, repo, rounds=3, size=6 << 20, seed=3)
    assert outcome.tried == 6
    outcome.check()


def test_fifty_concurrent_builtin_pulls_of_one_image(lab, tmp_path) -> None:
    repo = unique("load/fifty")
    support.ecr(lab).create_repository(repositoryName=repo)
    outcome = scenarios.many_builtin_pulls(lab, repo, tmp_path, clients=50)
    assert outcome.tried == 50
    outcome.check()


def test_eight_concurrent_docker_pushes_then_pulls(lab, tmp_path, require_docker) -> None:
    config = tmp_path / "docker-config"
    config.mkdir()
    outcome = scenarios.docker_push_pull(lab, tmp_path, lab_environ(lab, config), images=8,
                                         layer_kib=2048, seed=8)
    assert outcome.tried == 16
    outcome.check()
