"""`labkit lab up|status|env|down` as a learner runs them, and state that survives a restart."""

from __future__ import annotations

import json
import subprocess
import sys

import requests

from tests.conftest import free_port, registry_credentials


def labkit(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "labkit", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_up_status_env_down(tmp_path) -> None:
    home, port = tmp_path / "home", free_port()
    up = labkit("lab", "up", "--home", str(home), "--port", str(port))
    try:
        assert up.returncode == 0, up.stderr
        assert f"http://127.0.0.1:{port}" in up.stdout
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
