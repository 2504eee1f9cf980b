"""JupyterLab's server on loopback lists the course through its REST API (what a learner opens)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from labkit.course.state import NOTEBOOKS
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture()
def jupyter(tmp_path: Path):  # type: ignore[no-untyped-def]
    pytest.importorskip("jupyterlab")
    port, token = free_port(), "labkit-test-token"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_DATA_DIR": str(tmp_path / "data")}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT}",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.news_url=None", "--allow-root"]  # CI containers run as root
    log = open(tmp_path / "jupyter.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail("jupyter lab exited:\n" + (tmp_path / "jupyter.log").read_text())
            try:
                if requests.get(f"{base}/api/status", params={"token": token},
                                timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.time() > deadline:
                pytest.fail("jupyter lab did not answer in 90 s")
            time.sleep(0.3)
        yield base, token
    finally:
        if proc.poll() is None:  # stop the server we started (its own process group)
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
        shutil.rmtree(tmp_path / "runtime", ignore_errors=True)


def test_lists_the_notebooks(jupyter) -> None:  # type: ignore[no-untyped-def]
    base, token = jupyter
    auth = {"Authorization": f"token {token}"}
    r = requests.get(f"{base}/api/contents/notebooks", headers=auth, timeout=30)
    assert r.status_code == 200
    listed = {item["name"]: item["type"] for item in r.json()["content"]}
    for name in NOTEBOOKS:
        assert listed.get(f"{name}.ipynb") == "notebook"
    one = requests.get(f"{base}/api/contents/notebooks/06-pull.ipynb", headers=auth,
                       params={"content": 1}, timeout=30).json()
    assert one["type"] == "notebook" and one["content"]["cells"]
    # the token is required: without it the server refuses
    assert requests.get(f"{base}/api/contents/notebooks", timeout=30).status_code == 403
