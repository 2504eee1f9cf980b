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


def test_a_client_gone_silent_mid_upload_releases_its_session(tmp_path, monkeypatch) -> None:
    """A laptop lid closed mid-PATCH: no FIN, no RST, the socket just goes quiet. The lab must
    not hold that upload (and its thread) forever: after its idle timeout the half-received
    chunk is rolled back and the session can be resumed from where it stood."""
    import socket
    import time

    from labkit.lab import process
    from labkit.oci import digest as dg

    monkeypatch.setenv("LABKIT_IDLE_TIMEOUT", "2")
    home = tmp_path / "home"
    lab = process.start(home, port=free_port())
    try:
        support.ecr(lab).create_repository(repositoryName="faults/silent")
        reg = support.Registry(lab)
        data = os.urandom(3 << 20)
        digest, prefix = dg.of_bytes(data), 1 << 20
        location = reg.start_upload("faults/silent")
        r = reg.request("PATCH", location, data=data[:prefix],
                        headers={"Content-Range": f"0-{prefix - 1}"})
        assert r.status_code == 202
        head = support.request_head("PATCH", location.removeprefix(lab.endpoint_url), {
            "Authorization": support.basic_header(*reg.session.auth),
            "Content-Length": str(len(data) - prefix),
            "Content-Range": f"{prefix}-{len(data) - 1}"}, lab.registry)
        silent = socket.create_connection(("127.0.0.1", lab.port))
        try:
            silent.sendall(head + data[prefix:prefix + 500_000])  # ...and then nothing, ever
            time.sleep(0.2)
            t0 = time.monotonic()
            r = reg.request("PATCH", location, data=data[prefix:], timeout=20,
                            headers={"Content-Range": f"{prefix}-{len(data) - 1}"})
            waited = time.monotonic() - t0
            assert r.status_code == 202, r.text
            assert waited < 10, f"the resumed PATCH waited {waited:.1f}s for the silent one"
            r = reg.request("PUT", r.headers["Location"], params={"digest": digest})
            assert r.status_code == 201, r.text
        finally:
            silent.close()
        assert reg.request("GET", f"/v2/faults/silent/blobs/{digest}").content == data
        assert support.unexpected_errors(home) == []
    finally:
        process.stop(home)
