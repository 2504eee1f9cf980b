"""Shared parts of the reliability suite: a plain HTTP registry client, a raw-socket client that
can die mid-request, and checks that say what was lost.

The scenarios use their own small client (requests + sockets) on purpose: it must be able to do
what well-behaved clients never do (stop half way, send junk), and it must verify every digest
itself instead of trusting the engine under test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from labkit import config
from labkit.oci import digest as dg
from labkit.oci import manifest as mf
from labkit.oci import mediatypes as mt
from tests.conftest import registry_credentials


def ecr(lab: Any) -> Any:
    """A boto3 ECR client for `lab` with the lab's dummy credentials."""
    import boto3

    return boto3.client("ecr", endpoint_url=lab.endpoint_url, region_name=lab.region,
                        aws_access_key_id=config.LAB_ACCESS_KEY,
                        aws_secret_access_key=config.LAB_SECRET_KEY)


def credentials(lab: Any) -> tuple[str, str]:
    """("AWS", password) from GetAuthorizationToken, as `aws ecr get-login-password` gives it."""
    return registry_credentials(ecr(lab))


def basic_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass
class Pushed:
    """An image whose manifest PUT the registry answered 201: it must never be lost."""

    repository: str
    tag: str
    digest: str
    manifest: bytes
    blobs: dict[str, bytes] = field(repr=False)


class Registry:
    """Just enough of the distribution protocol to push, pull and check, with timeouts."""

    def __init__(self, lab: Any, auth: tuple[str, str] | None = None, timeout: float = 30.0):
        self.lab = lab
        self.base = lab.endpoint_url
        self.session = requests.Session()
        self.session.auth = auth or credentials(lab)
        self.timeout = timeout

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base + path

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", self.timeout)
        return self.session.request(method, self.url(path), **kw)

    # ---- push ----
    def start_upload(self, repo: str) -> str:
        r = self.request("POST", f"/v2/{repo}/blobs/uploads/")
        assert r.status_code == 202, r.text
        return r.headers["Location"]

    def upload_blob(self, repo: str, data: bytes, chunk: int | None = None) -> str:
        """Upload `data` monolithically (chunk None) or in PATCH chunks; returns its digest."""
        digest = dg.of_bytes(data)
        if chunk is None:
            r = self.request("POST", f"/v2/{repo}/blobs/uploads/", params={"digest": digest},
                             data=data)
            assert r.status_code == 201, f"{r.status_code} {r.text}"
            return digest
        location = self.start_upload(repo)
        for start in range(0, len(data), chunk):
            part = data[start:start + chunk]
            r = self.request("PATCH", location, data=part, headers={
                "Content-Range": f"{start}-{start + len(part) - 1}",
                "Content-Type": "application/octet-stream"})
            assert r.status_code == 202, f"{r.status_code} {r.text}"
            location = r.headers["Location"]
        r = self.request("PUT", location, params={"digest": digest})
        assert r.status_code == 201, f"{r.status_code} {r.text}"
        return digest

    def push_image(self, repo: str, tag: str, layers: list[bytes],
                   chunk: int | None = None) -> Pushed:
        """Config + layers + manifest; returns what was acknowledged."""
        cfg = json.dumps({"architecture": "amd64", "os": "linux",
                          "rootfs": {"type": "layers", "diff_ids": [dg.of_bytes(x) for x in layers]}
                          }).encode()
        blobs = {dg.of_bytes(cfg): cfg}
        descs = []
        for layer in layers:
            d = self.upload_blob(repo, layer, chunk)
            blobs[d] = layer
            descs.append(mf.Descriptor(mt.OCI_LAYER, d, len(layer)))
        cfg_digest = self.upload_blob(repo, cfg)
        raw = mf.build(mf.Descriptor(mt.OCI_CONFIG, cfg_digest, len(cfg)), descs)
        r = self.request("PUT", f"/v2/{repo}/manifests/{tag}", data=raw,
                         headers={"Content-Type": mt.OCI_MANIFEST})
        assert r.status_code == 201, f"{r.status_code} {r.text}"
        assert r.headers["Docker-Content-Digest"] == dg.of_bytes(raw)
        return Pushed(repo, tag, dg.of_bytes(raw), raw, blobs)

    # ---- pull and verify ----
    def problems(self, image: Pushed) -> list[str]:
        """Everything wrong with pulling `image` now (empty: it pulls, every digest verified)."""
        out: list[str] = []
        for ref in (image.tag, image.digest):
            r = self.request("GET", f"/v2/{image.repository}/manifests/{ref}",
                             headers={"Accept": mt.ACCEPT_ALL})
            if r.status_code != 200:
                out.append(f"{image.repository}:{ref} manifest -> {r.status_code}")
                continue
            if dg.of_bytes(r.content) != image.digest or r.content != image.manifest:
                out.append(f"{image.repository}:{ref} manifest bytes differ")
        for digest, data in image.blobs.items():
            r = self.request("GET", f"/v2/{image.repository}/blobs/{digest}")
            if r.status_code != 200:
                out.append(f"{image.repository} blob {digest[:19]} -> {r.status_code}")
            elif dg.of_bytes(r.content) != digest or len(r.content) != len(data):
                out.append(f"{image.repository} blob {digest[:19]} corrupted")
        return out

    def head_blob(self, repo: str, digest: str) -> int:
        return self.request("HEAD", f"/v2/{repo}/blobs/{digest}").status_code


def described(lab: Any, repo: str) -> dict[str, set[str]]:
    """DescribeImages of `repo` as {digest: tags}."""
    client = ecr(lab)
    out: dict[str, set[str]] = {}
    for page in client.get_paginator("describe_images").paginate(repositoryName=repo):
        for d in page["imageDetails"]:
            out[d["imageDigest"]] = set(d.get("imageTags", []))
    return out


def disagreements(lab: Any, registry: Registry, repo: str) -> list[str]:
    """Where DescribeImages and the registry's tags/manifests disagree for `repo`."""
    out = []
    images = described(lab, repo)
    r = registry.request("GET", f"/v2/{repo}/tags/list")
    tags = set(r.json().get("tags") or []) if r.status_code == 200 else set()
    api_tags = set().union(*images.values()) if images else set()
    if tags != api_tags:
        out.append(f"{repo}: registry tags {sorted(tags)} vs DescribeImages {sorted(api_tags)}")
    for digest, dtags in images.items():
        r = registry.request("HEAD", f"/v2/{repo}/manifests/{digest}",
                             headers={"Accept": mt.ACCEPT_ALL})
        if r.status_code != 200:
            out.append(f"{repo}@{digest[:19]} described but the registry answers {r.status_code}")
        for tag in dtags:
            r = registry.request("HEAD", f"/v2/{repo}/manifests/{tag}",
                                 headers={"Accept": mt.ACCEPT_ALL})
            if r.headers.get("Docker-Content-Digest") != digest:
                out.append(f"{repo}:{tag} -> {r.headers.get('Docker-Content-Digest')} "
                           f"but DescribeImages says {digest[:19]}")
    return out


# ---- a client that dies mid-request ----
def request_head(method: str, path: str, headers: dict[str, str], host: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in
                                                             headers.items()), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def die_mid_request(host: str, port: int, head: bytes, body: bytes, cut: int,
                    reset: bool) -> None:
    """Send the request head and `cut` bytes of the body, then vanish: with a RST (a killed
    process's socket) or a plain FIN (a client that closed its end)."""
    s = socket.create_connection((host, port), timeout=10)
    try:
        s.sendall(head + body[:cut])
        if reset:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        s.close()


def files_under(root: Path) -> dict[str, tuple[int, float]]:
    """Every file below `root` with size and mtime (to see what a request wrote)."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            try:
                st = p.stat()
            except FileNotFoundError:
                continue
            out[str(p)] = (st.st_size, st.st_mtime)
    return out


def leftovers(home: Path) -> list[str]:
    """Unfinished uploads and temp files left in a lab's storage."""
    root = home / "registry"
    out = [str(p) for p in (root / "uploads").iterdir()] if (root / "uploads").exists() else []
    for dirpath, _, files in os.walk(root):
        out += [str(Path(dirpath) / f) for f in files if f.startswith(".tmp")]
    return out


def stored_blob_files(home: Path, digest: str) -> list[Path]:
    """Files holding the blob `digest` in a lab's content store (one, or none)."""
    hexd = dg.parse(digest)
    return [p for p in (home / "registry" / "blobs" / "sha256").rglob(f"*{hexd}*")]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return "sha256:" + h.hexdigest()


def unexpected_errors(home: Path) -> list[str]:
    """Requests that hit the registry's last-resort handler (a 500) or crashed a server thread,
    from the lab's log: the logged line plus the exception that ended each traceback."""
    log = home / "lab.log"
    if not log.exists():
        return []
    lines = log.read_text(errors="replace").splitlines()
    out = []
    for i, line in enumerate(lines):
        if "unexpected error" in line:
            out.append(line[-200:])
        elif line.startswith("Traceback"):
            j = i + 1
            while j < len(lines) and (lines[j].startswith(" ") or not lines[j].strip()):
                j += 1
            context = lines[i - 1][-120:] if i else ""
            out.append(f"traceback after {context!r}: {lines[j][:200] if j < len(lines) else '?'}")
    return out
