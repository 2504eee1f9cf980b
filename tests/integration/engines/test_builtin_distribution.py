"""The built-in engine against CNCF Distribution (Debian's docker-registry), a registry we did not
write, with htpasswd (Basic) auth; skopeo checks what it pushed.

A small HTTP proxy in front of Distribution cuts one blob download in the middle, to prove the
engine resumes with Range against a real registry.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from labkit.course import sample
from labkit.engines.base import EngineError
from labkit.engines.builtin import BuiltinEngine
from labkit.engines.report import EXISTS_LOCAL, EXISTS_REMOTE, MOUNTED, PULLED, PUSHED
from labkit.oci import digest as dg
from tests.conftest import need
from tests.distribution import RunningDistribution as Distribution
from tests.distribution import running as running_distribution

pytestmark = pytest.mark.distribution

USER, PASSWORD = "AWS", "distribution-test-password"


def bcrypt_hash(password: str) -> str | None:
    """An htpasswd bcrypt hash: the bcrypt package, else libxcrypt through crypt."""
    try:
        import bcrypt

        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()
    except ImportError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import crypt

            value = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
        except (ImportError, AttributeError, OSError):
            return None
    return value if value and value.startswith("$2") else None


@pytest.fixture(scope="module")
def distribution(require_distribution: None, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[Distribution]:
    hashed = bcrypt_hash(PASSWORD)
    need(hashed is not None, "no bcrypt available for htpasswd (pip install bcrypt)")
    root = tmp_path_factory.mktemp("distribution")
    (root / "htpasswd").write_text(f"{USER}:{hashed}\n")
    with running_distribution(root, htpasswd=root / "htpasswd") as registry:
        yield registry


@pytest.fixture(scope="module")
def pusher(distribution: Distribution, tmp_path_factory: pytest.TempPathFactory
           ) -> BuiltinEngine:
    """An engine with base, v1, v2 built and tagged for Distribution, logged in."""
    engine = BuiltinEngine(home=tmp_path_factory.mktemp("pusher"))
    sample.ensure_base(engine)
    for v in (1, 2):
        engine.build(sample.context(v), f"hello-app:v{v}")
        engine.tag(f"hello-app:v{v}", f"{distribution.registry}/hello-app:v{v}")
    assert engine.login(distribution.registry, USER, PASSWORD) == "Login Succeeded"
    return engine


@pytest.fixture(scope="module")
def pushed(pusher: BuiltinEngine, distribution: Distribution) -> dict[str, Any]:
    """Push v1 then v2 once for the module (later tests read the reports)."""
    R = distribution.registry
    return {"v1": pusher.push(f"{R}/hello-app:v1", progress=False),
            "v2": pusher.push(f"{R}/hello-app:v2", progress=False)}


def statuses(report: Any) -> list[str]:
    return [x.status for x in report.layers if x.kind == "layer"]


def test_push_v1_uploads_every_layer(pushed: dict[str, Any], pusher: BuiltinEngine) -> None:
    report = pushed["v1"]
    assert statuses(report) == [PUSHED] * 3
    local = pusher.store.resolve("hello-app:v1").manifest
    assert report.digest == local.digest
    assert report.bytes_moved >= local.layers_size
    assert [s.method for s in report.steps].count("PUT") == 5  # 3 layers + config + manifest


def test_push_v2_uploads_only_the_app_layer(pushed: dict[str, Any]) -> None:
    report = pushed["v2"]
    assert statuses(report) == [EXISTS_REMOTE, EXISTS_REMOTE, PUSHED]
    assert report.count(PUSHED) == 1
    app = report.layers[2]
    assert app.moved == app.size


def test_push_to_a_second_repository_mounts(pushed: dict[str, Any], pusher: BuiltinEngine,
                                            distribution: Distribution) -> None:
    R = distribution.registry
    pusher.tag("hello-app:v2", f"{R}/team/hello-copy:v2")
    report = pusher.push(f"{R}/team/hello-copy:v2", progress=False)
    assert statuses(report) == [f"{MOUNTED} hello-app"] * 3
    assert report.bytes_moved == 0
    assert report.digest == pushed["v2"].digest


def test_pull_into_an_empty_home_then_v2(pushed: dict[str, Any], distribution: Distribution,
                                         tmp_path: Path) -> None:
    R = distribution.registry
    engine = BuiltinEngine(home=tmp_path / "puller")
    engine.login(R, USER, PASSWORD)
    p1 = engine.pull(f"{R}/hello-app:v1", progress=False)
    assert statuses(p1) == [PULLED] * 3 and p1.digest == pushed["v1"].digest
    for blob in engine.store.blobs.iterdir():
        assert dg.of_file(str(blob)) == f"sha256:{blob.name}"
    p2 = engine.pull(f"{R}/hello-app:v2", progress=False)
    assert statuses(p2) == [EXISTS_LOCAL, EXISTS_LOCAL, PULLED]
    assert p2.digest == pushed["v2"].digest
    assert {i.ref for i in engine.images()} == {f"{R}/hello-app:v1", f"{R}/hello-app:v2"}
    assert list(engine.store.tmp.iterdir()) == []


def test_skopeo_sees_the_same_image(require_skopeo: None, pushed: dict[str, Any],
                                    distribution: Distribution, tmp_path: Path) -> None:
    R = distribution.registry
    creds = f"--creds={USER}:{PASSWORD}"
    out = subprocess.run(["skopeo", "inspect", "--tls-verify=false", creds,
                          f"docker://{R}/hello-app:v1"], capture_output=True, text=True,
                         timeout=60, check=True)
    info = json.loads(out.stdout)
    assert info["Digest"] == pushed["v1"].digest
    assert info["Layers"] == [x.digest for x in pushed["v1"].layers if x.kind == "layer"]
    assert info["Labels"]["org.opencontainers.image.title"] == "hello-app"
    # skopeo copies it out (verifying every digest) with the manifest byte for byte
    subprocess.run(["skopeo", "copy", "--src-tls-verify=false", f"--src-creds={USER}:{PASSWORD}",
                    f"docker://{R}/hello-app:v2", f"dir:{tmp_path / 'copy'}"],
                   capture_output=True, text=True, timeout=60, check=True)
    manifest = (tmp_path / "copy" / "manifest.json").read_bytes()
    assert dg.of_bytes(manifest) == pushed["v2"].digest


def test_pull_what_skopeo_pushed(require_skopeo: None, pushed: dict[str, Any],
                                 distribution: Distribution, tmp_path: Path) -> None:
    """An image another client wrote (skopeo converts to OCI here) pulls and verifies."""
    R = distribution.registry
    subprocess.run(["skopeo", "copy", "--format=oci", "--src-tls-verify=false",
                    "--dest-tls-verify=false", f"--src-creds={USER}:{PASSWORD}",
                    f"--dest-creds={USER}:{PASSWORD}", f"docker://{R}/hello-app:v1",
                    f"docker://{R}/from-skopeo:oci"],
                   capture_output=True, text=True, timeout=60, check=True)
    engine = BuiltinEngine(home=tmp_path / "puller")
    engine.login(R, USER, PASSWORD)
    report = engine.pull(f"{R}/from-skopeo:oci", progress=False)
    assert statuses(report) == [PULLED] * 3
    m = engine.store.resolve(f"{R}/from-skopeo:oci").manifest
    assert m.media_type == "application/vnd.oci.image.manifest.v1+json"
    assert report.digest == m.digest


def test_wrong_password_and_no_login(distribution: Distribution, pushed: dict[str, Any],
                                     tmp_path: Path) -> None:
    R = distribution.registry
    engine = BuiltinEngine(home=tmp_path / "e", docker_config=tmp_path / "fresh" / "config.json")
    with pytest.raises(EngineError) as info:
        engine.login(R, USER, "not-the-password")
    text = str(info.value)
    assert "401 Unauthorized" in text and "get-login-password" in text
    assert "not-the-password" not in text
    with pytest.raises(EngineError, match=r"log in first \(notebook 02-authenticate\)"):
        engine.pull(f"{R}/hello-app:v1", progress=False)
    assert engine.images() == [] and list(engine.store.blobs.iterdir()) == []


# -- resume against the real registry, through a proxy that cuts one download ---------------
class CuttingProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, target: str):
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.upstream = upstream
        self.target = target  # blob path suffix whose first full download is cut
        self.cuts = 1
        self.ranges: list[str] = []


class ProxyHandler(BaseHTTPRequestHandler):
    server: CuttingProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def forward(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        host, port = self.server.upstream.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        if self.path.endswith(self.server.target) and self.headers.get("Range"):
            self.server.ranges.append(self.headers["Range"])
        cut = (self.command == "GET" and self.path.endswith(self.server.target)
               and not self.headers.get("Range") and self.server.cuts > 0 and resp.status == 200)
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "transfer-encoding"):
                self.send_header(k, v)
        self.end_headers()
        if cut:
            self.server.cuts -= 1
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = forward  # noqa: N815


def test_resume_after_a_cut_connection(distribution: Distribution, pushed: dict[str, Any],
                                       pusher: BuiltinEngine, tmp_path: Path) -> None:
    app_layer = pusher.store.resolve("hello-app:v1").manifest.layers[2].digest
    proxy = CuttingProxy(distribution.registry, f"/blobs/{app_layer}")
    thread = threading.Thread(target=proxy.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        via = f"127.0.0.1:{proxy.server_address[1]}"
        engine = BuiltinEngine(home=tmp_path / "puller")
        engine.login(via, USER, PASSWORD)
        report = engine.pull(f"{via}/hello-app:v1", progress=False)
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert proxy.cuts == 0, "the proxy never cut the download"
    assert statuses(report) == [PULLED] * 3
    assert report.digest == pushed["v1"].digest
    assert proxy.ranges and proxy.ranges[0].startswith("bytes=")
    assert any(s.note.startswith("resume from") for s in report.steps)
    assert dg.of_file(str(engine.store.blob_path(app_layer))) == app_layer
