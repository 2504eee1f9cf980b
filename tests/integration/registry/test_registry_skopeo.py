"""Smoke test with a real client: skopeo copies an OCI layout into the registry and back."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from labkit.oci import digest as dg
from labkit.oci import manifest as mf
from labkit.oci import mediatypes as mt
from tests.registry_server import image_tags, make_app, serve

pytestmark = pytest.mark.skopeo


def oci_layout(root: Path, payload: bytes, ref: str = "v1") -> str:
    """A one-layer image in an OCI layout; returns its manifest digest."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> str:
        digest = dg.of_bytes(data)
        (blobs / digest[7:]).write_bytes(data)
        return digest

    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as t:
        info = tarfile.TarInfo("hello.bin")
        info.size = len(payload)
        t.addfile(info, io.BytesIO(payload))
    layer = gzip.compress(tar.getvalue(), mtime=0)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers",
                                    "diff_ids": [dg.of_bytes(tar.getvalue())]}}).encode()
    raw = mf.build(mf.Descriptor(mt.OCI_CONFIG, put(config), len(config)),
                   [mf.Descriptor(mt.OCI_LAYER, put(layer), len(layer))])
    digest = put(raw)
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": mt.OCI_MANIFEST, "digest": digest, "size": len(raw),
         "annotations": {"org.opencontainers.image.ref.name": ref}}]}))
    return digest


def skopeo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True,
                          text=True, timeout=120)


def test_skopeo_copies_in_and_out(tmp_path, require_skopeo):
    digest = oci_layout(tmp_path / "src", os.urandom(6 * 1024 * 1024))
    app, control = make_app(tmp_path / "reg", {"hello-app": False, "mirror/app": False,
                                               "frozen": True})
    with serve(app) as url:
        host = url.removeprefix("http://")
        push = skopeo("copy", "--dest-tls-verify=false", f"oci:{tmp_path / 'src'}:v1",
                      f"docker://{host}/hello-app:v1")
        assert push.returncode == 0, push.stderr
        assert digest in image_tags(control, "hello-app")  # the ECR API sees the push
        inspect = skopeo("inspect", "--tls-verify=false", f"docker://{host}/hello-app:v1")
        assert inspect.returncode == 0, inspect.stderr
        assert json.loads(inspect.stdout)["Digest"] == digest
        # registry to registry: the layer is mounted or re-sent, the digest is unchanged
        copy = skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                      f"docker://{host}/hello-app:v1", f"docker://{host}/mirror/app:v1")
        assert copy.returncode == 0, copy.stderr
        pull = skopeo("copy", "--src-tls-verify=false", f"docker://{host}/mirror/app:v1",
                      f"oci:{tmp_path / 'back'}:v1")
        assert pull.returncode == 0, pull.stderr
        index = json.loads((tmp_path / "back" / "index.json").read_text())
        assert index["manifests"][0]["digest"] == digest
        for f in (tmp_path / "src" / "blobs" / "sha256").iterdir():
            assert (tmp_path / "back" / "blobs" / "sha256" / f.name).read_bytes() == \
                f.read_bytes()
        # ECR's rules reach the client with ECR's words
        missing = skopeo("copy", "--dest-tls-verify=false", f"oci:{tmp_path / 'src'}:v1",
                         f"docker://{host}/nothere:v1")
        assert missing.returncode != 0
        assert "The repository with name 'nothere' does not exist" in missing.stderr
        assert skopeo("copy", "--dest-tls-verify=false", f"oci:{tmp_path / 'src'}:v1",
                      f"docker://{host}/frozen:1.0").returncode == 0
        again = skopeo("copy", "--dest-tls-verify=false", f"oci:{tmp_path / 'src'}:v1",
                       f"docker://{host}/frozen:1.0")
        assert again.returncode != 0 and "cannot be overwritten" in again.stderr
