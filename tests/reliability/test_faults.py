"""Faults (issue 5): a client killed mid-upload, the lab SIGKILLed mid-push, a full disk.

Each runs the scenario of `scenarios.py` with small counts; `tests/bench/reliability_report.py`
runs the same code with big ones.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import free_port
from tests.reliability import scenarios, support

pytestmark = pytest.mark.reliability


def test_client_killed_mid_upload_20_times(own_lab) -> None:
    repo = "faults/killed"
    support.ecr(own_lab).create_repository(repositoryName=repo)
    outcome = scenarios.client_killed_mid_upload(own_lab, repo, runs=20, seed=5)
    assert outcome.tried == 20
    assert set(outcome.extra["modes"]) == set(scenarios.MODES)
    outcome.check()


def test_lab_sigkilled_during_pushes(tmp_path) -> None:
    outcome = scenarios.lab_killed_mid_push(tmp_path / "home", free_port, rounds=2, writers=3,
                                            min_acked=3, max_layer=1 << 20, seed=7)
    assert outcome.extra["images_acked"] >= 6
    outcome.check()


def _can_mount_tmpfs(where) -> bool:
    if os.geteuid() != 0:
        return False
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)],
                       capture_output=True)
    if r.returncode != 0:
        return False
    subprocess.run(["umount", str(where)], check=True)
    return True


def test_disk_full_is_a_clear_error_and_loses_nothing(tmp_path) -> None:
    mount = tmp_path / "disk"
    mount.mkdir()
    if not _can_mount_tmpfs(mount):
        pytest.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN); the disk-full test cannot run")
    outcome = scenarios.disk_full(mount, free_port, size_mb=64, layer_mb=4, seed=11)
    assert outcome.extra["failures"], "the disk never filled up"
    outcome.check()
