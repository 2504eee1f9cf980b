"""`labkit lab up|status|env|down` as a learner runs them, and state that survives a restart.

Both ways to start the lab run here: the POSIX fork of `labkit lab up`, and the portable path
(a fresh interpreter, readiness through lab.json, stop through the signed shutdown endpoint)
that Windows learners get, chosen with LABKIT_START=portable.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from labkit.lab.process import launch
from tests.conftest import free_port, registry_credentials


def labkit(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "labkit", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def start_env(method: str) -> dict[str, str]:
    env = dict(os.environ)
    env["LABKIT_START"] = method
    return env


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def alive(pid: int) -> bool:
    from labkit.lab.process import pids

    return pids.alive(pid)


@pytest.mark.parametrize("method", ["fork", "portable"])
def test_up_status_env_down(tmp_path, method) -> None:
    home, port = tmp_path / "home", free_port()
    up = labkit("lab", "up", "--home", str(home), "--port", str(port), env=start_env(method))
    try:
        assert up.returncode == 0, up.stderr
        assert f"http://127.0.0.1:{port}" in up.stdout
        pid = json.loads((home / "lab.json").read_text())["pid"]
        # the path taken shows in the lab's command line: the CLI's own (forked) or a fresh
        # interpreter running the server module
        started_as = cmdline(pid)
        if method == "portable":
            assert f"-m {launch.SERVE_MODULE}" in started_as, started_as
        else:
            assert "-m labkit lab up" in started_as, started_as
        assert os.getsid(pid) == pid  # detached: its own session, not the terminal's
        again = labkit("lab", "up", "--home", str(home), "--port", str(port))
        assert "already running" in again.stdout
        status = labkit("lab", "status", "--home", str(home))
        assert status.returncode == 0 and f"127.0.0.1:{port}" in status.stdout
        env = labkit("lab", "env", "--home", str(home), "--no-start").stdout
        assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{port}" in env
        assert "export AWS_DEFAULT_REGION=us-east-1" in env
        assert f"export LABKIT_REGISTRY=127.0.0.1:{port}" in env
        assert "AWS_SECRET_ACCESS_KEY" in env
        ps = labkit("lab", "env", "--home", str(home), "--format", "powershell").stdout
        assert f"$env:AWS_ENDPOINT_URL = 'http://127.0.0.1:{port}'" in ps
    finally:
        down = labkit("lab", "down", "--home", str(home))
    assert "lab stopped" in down.stdout
    assert not alive(pid)
    assert "stopping: asked by a client holding this home's secret" in (
        home / "lab.log").read_text()  # stopped through the endpoint, not a signal
    assert not (home / "lab.json").exists()
    assert labkit("lab", "status", "--home", str(home)).returncode == 3
    assert labkit("lab", "env", "--home", str(home), "--no-start").returncode == 3


def test_port_in_use_is_a_clear_error(tmp_path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = labkit("lab", "up", "--home", str(tmp_path / "h"), "--port", str(port))
    assert r.returncode == 1
    assert f"Port {port} is taken" in r.stderr


def test_restart_keeps_repositories_images_and_tags(tmp_path) -> None:
    """Push through the registry, stop, start: DescribeImages and the manifests are unchanged."""
    import hashlib

    import boto3

    from labkit import config
    from labkit.lab import process

    home = tmp_path / "home"
    lab = process.start(home, port=free_port())
    try:
        ecr = boto3.client("ecr", endpoint_url=lab.endpoint_url, region_name=lab.region,
                           aws_access_key_id=config.LAB_ACCESS_KEY,
                           aws_secret_access_key=config.LAB_SECRET_KEY)
        ecr.create_repository(repositoryName="keep/me", imageTagMutability="IMMUTABLE",
                              tags=[{"Key": "k", "Value": "v"}])
        s = requests.Session()
        s.auth = registry_credentials(ecr)
        base = f"{lab.endpoint_url}/v2/keep/me"
        blobs = {}
        for data in (b'{"architecture":"amd64","os":"linux"}', b"layer-one" * 1000):
            d = "sha256:" + hashlib.sha256(data).hexdigest()
            r = s.post(f"{base}/blobs/uploads/", params={"digest": d}, data=data)
            assert r.status_code == 201, r.text
            blobs[d] = len(data)
        (cfg, cfg_size), (layer, layer_size) = blobs.items()
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg,
                       "size": cfg_size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": layer, "size": layer_size}]}).encode()
        r = s.put(f"{base}/manifests/1.0", data=manifest,
                  headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        assert r.status_code == 201, r.text
        before = ecr.describe_images(repositoryName="keep/me")["imageDetails"]
        repo_before = ecr.describe_repositories()["repositories"]
        assert before[0]["imageDigest"] == "sha256:" + hashlib.sha256(manifest).hexdigest()
        assert before[0]["imageSizeInBytes"] == layer_size
    finally:
        process.stop(home)

    lab = process.start(home, port=free_port())
    try:
        ecr = boto3.client("ecr", endpoint_url=lab.endpoint_url, region_name=lab.region,
                           aws_access_key_id=config.LAB_ACCESS_KEY,
                           aws_secret_access_key=config.LAB_SECRET_KEY)
        after = ecr.describe_images(repositoryName="keep/me")["imageDetails"]
        assert after == before
        repo_after = ecr.describe_repositories()["repositories"]
        for a, b in zip(repo_after, repo_before, strict=True):
            assert a["imageTagMutability"] == b["imageTagMutability"] == "IMMUTABLE"
            assert a["createdAt"] == b["createdAt"]
            assert a["repositoryUri"] == f"{lab.registry}/keep/me"
        tags = ecr.list_tags_for_resource(resourceArn=repo_after[0]["repositoryArn"])["tags"]
        assert tags == [{"Key": "k", "Value": "v"}]
        auth = registry_credentials(ecr)
        r = requests.get(f"{lab.endpoint_url}/v2/keep/me/manifests/1.0", auth=auth,
                         headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
        assert r.status_code == 200 and r.content == manifest
        r = requests.get(f"{lab.endpoint_url}/v2/keep/me/blobs/{layer}", auth=auth)
        assert r.status_code == 200 and r.content == b"layer-one" * 1000
    finally:
        process.stop(home)


# --- down and status act only on a process that proves to be this home's lab -------------------
def _stale_state(tmp_path: Path) -> tuple[Path, dict]:
    """A home whose lab ran once (so it has a secret) and stopped: its last lab.json kept."""
    from labkit.lab import process

    home = tmp_path / "home"
    process.start(home, port=free_port())
    state = json.loads((home / "lab.json").read_text())
    assert process.stop(home)
    return home, state


def test_a_stale_pid_that_is_another_process_is_left_alone(tmp_path) -> None:
    home, state = _stale_state(tmp_path)
    sleeper = subprocess.Popen(["sleep", "1000"])
    try:
        for command in ("down", "status"):
            (home / "lab.json").write_text(json.dumps({**state, "pid": sleeper.pid}))
            r = labkit("lab", command, "--home", str(home))
            assert r.returncode == (0 if command == "down" else 3), r.stderr
            # (nothing listens on the old port, or, if something took it since, not this lab)
            assert f"pid {sleeper.pid} named in lab.json is" in r.stdout, r.stdout
            assert "stale lab.json" in r.stdout
            assert "lab stopped" not in r.stdout
            assert sleeper.poll() is None, "the sleeping process was signalled"
            assert not (home / "lab.json").exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_stale_lab_json_naming_another_homes_lab_is_left_alone(tmp_path) -> None:
    """lab.json's PID and port now belong to the lab of another home: it keeps running."""
    from labkit.lab import process

    home, state = _stale_state(tmp_path)
    other_home = tmp_path / "other"
    other = process.start(other_home, port=free_port())
    try:
        (home / "lab.json").write_text(json.dumps({**state, "pid": other.pid,
                                                   "port": other.port,
                                                   "registry": other.registry}))
        assert process.running(home) is None
        assert not (home / "lab.json").exists()
        (home / "lab.json").write_text(json.dumps({**state, "pid": other.pid,
                                                   "port": other.port,
                                                   "registry": other.registry}))
        r = labkit("lab", "down", "--home", str(home))
        assert r.returncode == 0, r.stderr
        assert f"serves another home ({other_home.resolve()})" in r.stdout
        assert alive(other.pid)
        assert process.running(other_home) is not None  # still answers, as its own home's lab
    finally:
        process.stop(other_home)


def test_a_lab_json_naming_another_pid_than_the_lab_on_its_port_touches_nothing(tmp_path) -> None:
    """This home's lab answers on the port, but lab.json names someone else's PID: neither
    process is signalled and lab.json stays for the learner to look at."""
    from labkit.lab import process

    home = tmp_path / "home"
    lab = process.start(home, port=free_port())
    state = json.loads((home / "lab.json").read_text())
    sleeper = subprocess.Popen(["sleep", "1000"])
    try:
        (home / "lab.json").write_text(json.dumps({**state, "pid": sleeper.pid}))
        r = labkit("lab", "down", "--home", str(home))
        assert r.returncode == 1
        assert f"answers at {lab.registry} as pid {lab.pid}, but lab.json names pid " \
               f"{sleeper.pid}" in r.stderr, r.stderr
        assert sleeper.poll() is None and alive(lab.pid)
        assert (home / "lab.json").exists()
    finally:
        sleeper.kill()
        sleeper.wait()
        (home / "lab.json").write_text(json.dumps(state))
        process.stop(home)
    assert not alive(lab.pid)


def test_a_lab_that_does_not_answer_is_not_signalled(tmp_path) -> None:
    """A live PID that does not answer (here: a stopped lab) might be a busy lab: `down`
    touches nothing, says so and fails; once it answers again, `down` stops it."""
    from labkit.lab import process

    home = tmp_path / "home"
    lab = process.start(home, port=free_port())
    os.kill(lab.pid, signal.SIGSTOP)
    try:
        r = labkit("lab", "down", "--home", str(home))
        assert r.returncode == 1
        assert "did not stop anything" in r.stderr and "did not answer" in r.stderr
        assert (home / "lab.json").exists()
        assert labkit("lab", "status", "--home", str(home)).returncode == 1
    finally:
        os.kill(lab.pid, signal.SIGCONT)
    assert process.running(home) is not None
    assert process.stop(home)
    assert not alive(lab.pid)


def test_the_shutdown_endpoint_needs_this_homes_secret(tmp_path) -> None:
    import json as jsonlib
    import secrets

    from labkit.lab import process
    from labkit.lab.auth.admin import authorization

    home = tmp_path / "home"
    lab = process.start(home, port=free_port())
    path = "/_labkit/shutdown"
    url = f"{lab.endpoint_url}{path}"
    right = (home / "secret.key").read_bytes()

    def post(secret: bytes | None, doc: object, **kw: object) -> requests.Response:
        body = jsonlib.dumps(doc).encode()
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["Authorization"] = authorization(secret, "POST", path, "", body, **kw)
        return requests.post(url, data=body, headers=headers, timeout=10)

    try:
        replayed = authorization(right, "POST", path, "", b'{"pid": 1}')
        refused = [
            (post(secrets.token_bytes(32), {"pid": lab.pid}), 401,
             "does not match this lab's secret"),
            (post(None, {"pid": lab.pid}), 401, "need the lab's secret"),
            (post(right, {"pid": lab.pid}, now=time.time() - 3600), 401, "sign a fresh one"),
            (post(right, {"pid": lab.pid + 1}), 409, f"this lab is pid {lab.pid}"),
            (post(right, ["not", "an", "object"]), 400, "expected a JSON object"),
            (requests.post(url, data=b'{"pid": 1}', headers={
                "Content-Type": "application/json", "Authorization": replayed}), 409, "pid"),
            (requests.post(url, data=b'{"pid": 1}', headers={
                "Content-Type": "application/json", "Authorization": replayed}), 401,
             "already used"),
            (requests.get(url, headers={"Authorization": authorization(right, "GET", path)}),
             405, "not allowed"),
        ]
        for r, status, message in refused:
            assert r.status_code == status, r.text
            assert message in r.json()["error"]
        assert process.running(home) is not None  # still up after every refusal
        r = post(right, {"pid": lab.pid})
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 15
        while alive(lab.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(lab.pid)
        assert not (home / "lab.json").exists()  # it cleaned up after itself
    finally:
        process.stop(home)


def test_whoami_answers_a_challenge_only_with_the_homes_secret(tmp_path) -> None:
    """The proof binds the client's nonce: replaying an earlier answer proves nothing."""
    from labkit.lab import process
    from labkit.lab.auth.signing import Signer
    from labkit.lab.process.identity import whoami_proof

    home = tmp_path / "home"
    lab = process.start(home, port=free_port())
    try:
        signer = Signer((home / "secret.key").read_bytes())
        a = requests.get(f"{lab.endpoint_url}/_labkit/whoami",
                         params={"challenge": "a" * 32}).json()
        b = requests.get(f"{lab.endpoint_url}/_labkit/whoami",
                         params={"challenge": "b" * 32}).json()
        assert a["pid"] == lab.pid and a["home"] == str(home.resolve())
        assert a["proof"] == whoami_proof(signer, "a" * 32, lab.pid, a["home"])
        assert b["proof"] != a["proof"]
        assert "secret" not in json.dumps(a).lower()
        short = requests.get(f"{lab.endpoint_url}/_labkit/whoami", params={"challenge": "x"})
        assert short.status_code == 400
    finally:
        process.stop(home)
