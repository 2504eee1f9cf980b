"""The built-in registry client against a small scripted registry *server* (real HTTP on loopback).

The server plays only the registry's side, so each test can make it misbehave in one precise
way (cut a blob mid-download, answer with an ECR error code, vanish mid-push) and check that the
client does what docker does and explains the failure. Distribution itself is exercised in
tests/integration/engines/test_builtin_distribution.py.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from labkit.course import sample
from labkit.engines.base import EngineError
from labkit.engines.builtin import BuiltinEngine
from labkit.engines.report import EXISTS_LOCAL, EXISTS_REMOTE, MOUNTED, PULLED, PUSHED
from labkit.oci import digest as dg
from labkit.oci import manifest as mf
from labkit.oci import mediatypes as mt

PASSWORD = "s3cr3t-token-" + "x" * 20


class FakeRegistry(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, bearer: bool = False):
        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]
        self.bearer = bearer
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.uploads: dict[str, bytearray] = {}
        self.repos_with: dict[str, set[str]] = {}
        self.inject: dict[tuple[str, str], tuple[int, str, str]] = {}  # (method, kind) -> error
        self.cuts = 0  # storage GETs to cut mid-body
        self.drop_patch = False
        self.wrong_manifest_digest = False
        self.storage_auth: list[str | None] = []
        self.storage_ranges: list[str | None] = []

    @property
    def registry(self) -> str:
        return f"127.0.0.1:{self.port}"


class Handler(BaseHTTPRequestHandler):
    server: FakeRegistry
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
              ) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        self.reply(status, body, {"Content-Type": "application/json"})

    def authorized(self) -> bool:
        got = self.headers.get("Authorization", "")
        if self.server.bearer:
            return got == "Bearer tok-123"
        return got == "Basic " + base64.b64encode(f"AWS:{PASSWORD}".encode()).decode()

    def challenge(self) -> None:
        if self.server.bearer:
            value = (f'Bearer realm="http://127.0.0.1:{self.server.port}/token",'
                     'service="fake",scope="repository:hello-app:pull,push"')
        else:
            value = 'Basic realm="https://127.0.0.1/",service="ecr.amazonaws.com"'
        body = json.dumps({"errors": [{"code": "UNAUTHORIZED",
                                       "message": "Not Authorized"}]}).encode()
        self.reply(401, body, {"WWW-Authenticate": value, "Content-Type": "application/json"})

    def body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_any(self) -> None:
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query)
        if path.startswith("/storage/"):
            return self.storage(path.rsplit("/", 1)[1])
        if path == "/token":
            ok = self.headers.get("Authorization") == "Basic " + base64.b64encode(
                f"AWS:{PASSWORD}".encode()).decode()
            return self.reply(200, b'{"token":"tok-123"}') if ok else self.challenge()
        body = self.body()
        if not self.authorized():
            return self.challenge()
        if path == "/v2/":
            return self.reply(200, b"{}")
        parts = path[len("/v2/"):].split("/")
        kind = parts[-2] if parts[-2] in ("blobs", "manifests", "uploads") else parts[-1]
        repo = "/".join(parts[:parts.index("blobs" if "blobs" in parts else "manifests")])
        injected = self.server.inject.get((self.command, kind))
        if injected:
            return self.error(*injected)
        if kind == "uploads" and self.command == "POST":
            mount = query.get("mount", [""])[0]
            if mount and mount in self.server.blobs:
                self.server.repos_with.setdefault(repo, set()).add(mount)
                return self.reply(201, headers={"Docker-Content-Digest": mount})
            session = uuid.uuid4().hex
            self.server.uploads[session] = bytearray()
            return self.reply(202, headers={
                "Location": f"/v2/{repo}/blobs/uploads/{session}?_state=abc", "Range": "0-0"})
        if parts[-2] == "uploads":
            session = parts[-1]
            data = self.server.uploads[session]
            if self.command == "PATCH":
                if self.server.drop_patch:  # the registry goes away mid-push
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return None
                start = int(self.headers["Content-Range"].split("-")[0])
                assert start == len(data), "chunks must arrive in order"
                data.extend(body)
                return self.reply(202, headers={
                    "Location": f"/v2/{repo}/blobs/uploads/{session}?_state=n{len(data)}",
                    "Range": f"0-{len(data) - 1}"})
            if self.command == "PUT":
                digest = query["digest"][0]
                assert query["_state"], "the client must keep the Location's query"
                data.extend(body)
                if dg.of_bytes(bytes(data)) != digest:
                    return self.error(400, "DIGEST_INVALID", "digest mismatch")
                self.server.blobs[digest] = bytes(data)
                self.server.repos_with.setdefault(repo, set()).add(digest)
                return self.reply(201, headers={"Docker-Content-Digest": digest})
        if parts[-2] == "blobs":
            digest = parts[-1]
            if digest not in self.server.repos_with.get(repo, set()):
                return self.error(404, "BLOB_UNKNOWN", "blob unknown")
            if self.command == "HEAD":
                return self.reply(200, headers={"Content-Length": "0"})
            return self.reply(307, headers={
                "Location": f"http://localhost:{self.server.port}/storage/{digest}"})
        if parts[-2] == "manifests":
            ref = parts[-1]
            if self.command == "PUT":
                ctype = self.headers["Content-Type"]
                d = dg.of_bytes(body)
                self.server.manifests[(repo, ref)] = self.server.manifests[(repo, d)] = (
                    body, ctype)
                shown = dg.of_bytes(b"x") if self.server.wrong_manifest_digest else d
                return self.reply(201, headers={"Docker-Content-Digest": shown})
            if (repo, ref) not in self.server.manifests:
                return self.error(404, "MANIFEST_UNKNOWN", f"tag {ref} not found")
            raw, ctype = self.server.manifests[(repo, ref)]
            return self.reply(200, raw, {"Content-Type": ctype,
                                         "Docker-Content-Digest": dg.of_bytes(raw)})
        return self.error(404, "UNSUPPORTED", path)

    def storage(self, digest: str) -> None:
        self.server.storage_auth.append(self.headers.get("Authorization"))
        rng = self.headers.get("Range")
        self.server.storage_ranges.append(rng)
        data = self.server.blobs[digest]
        start = int(rng.split("=")[1].split("-")[0]) if rng else 0
        part = data[start:]
        self.send_response(206 if rng else 200)
        self.send_header("Content-Length", str(len(part)))
        if rng:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if self.server.cuts > 0 and len(part) > 1:
            self.server.cuts -= 1
            self.wfile.write(part[: len(part) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(part)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any  # noqa: N815


def serve(bearer: bool = False) -> Iterator[FakeRegistry]:
    server = FakeRegistry(bearer)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture()
def registry() -> Iterator[FakeRegistry]:
    yield from serve()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with base, v1 and v2 built once; tests copy it."""
    home = tmp_path_factory.mktemp("built")
    engine = BuiltinEngine(home=home)
    sample.ensure_base(engine)
    engine.build(sample.context(1), "hello-app:v1")
    engine.build(sample.context(2), "hello-app:v2")
    return home


def engine_with_images(built: Path, tmp_path: Path, registry: FakeRegistry) -> BuiltinEngine:
    import shutil

    shutil.copytree(built, tmp_path / "pusher")
    engine = BuiltinEngine(home=tmp_path / "pusher")
    for v in (1, 2):
        engine.tag(f"hello-app:v{v}", f"{registry.registry}/hello-app:v{v}")
    return engine


def layer_statuses(report: Any) -> list[str]:
    return [x.status for x in report.layers if x.kind == "layer"]


def assert_clean(engine: BuiltinEngine) -> None:
    assert list(engine.store.tmp.iterdir()) == []


def test_push_then_pull_the_docker_way(built: Path, tmp_path: Path,
                                       registry: FakeRegistry) -> None:
    engine = engine_with_images(built, tmp_path, registry)
    R = registry.registry
    assert engine.login(R, "AWS", PASSWORD) == "Login Succeeded"
    r1 = engine.push(f"{R}/hello-app:v1", progress=False)
    assert layer_statuses(r1) == [PUSHED] * 3
    methods = [(s.method, s.status) for s in r1.steps]
    assert methods[:3] == [("GET", 401), ("GET", 200), ("HEAD", 404)]
    assert ("PATCH", 202) in methods and methods[-1] == ("PUT", 201)
    assert r1.digest == dg.of_bytes(registry.manifests[("hello-app", "v1")][0])
    assert registry.manifests[("hello-app", "v1")][1] == mt.DOCKER_MANIFEST
    r2 = engine.push(f"{R}/hello-app:v2", progress=False)
    assert layer_statuses(r2) == [EXISTS_REMOTE, EXISTS_REMOTE, PUSHED]
    engine.tag("hello-app:v2", f"{R}/other:v2")
    r3 = engine.push(f"{R}/other:v2", progress=False)
    assert layer_statuses(r3) == [f"{MOUNTED} hello-app"] * 3
    assert r3.bytes_moved == 0

    puller = BuiltinEngine(home=tmp_path / "puller")
    puller.login(R, "AWS", PASSWORD)
    p1 = puller.pull(f"{R}/hello-app:v1", progress=False)
    assert layer_statuses(p1) == [PULLED] * 3 and p1.digest == r1.digest
    p2 = puller.pull(f"{R}/hello-app:v2", progress=False)
    assert layer_statuses(p2) == [EXISTS_LOCAL, EXISTS_LOCAL, PULLED]
    # the storage redirect goes to another host name: no registry credentials sent there
    assert registry.storage_auth and set(registry.storage_auth) == {None}
    assert any(s.status == 307 for s in p1.steps)
    assert puller.store.resolve(f"{R}/hello-app:v2").manifest.digest == r2.digest
    assert_clean(puller)


def test_small_chunks_arrive_in_order(built: Path, tmp_path: Path,
                                      registry: FakeRegistry) -> None:
    engine = engine_with_images(built, tmp_path, registry)
    engine.chunk_size = 100
    R = registry.registry
    engine.login(R, "AWS", PASSWORD)
    report = engine.push(f"{R}/hello-app:v1", progress=False)
    local = engine.store.resolve("hello-app:v1").manifest
    for layer in local.layers:
        assert registry.blobs[layer.digest] == engine.store.read_blob(layer.digest)
    patches = [s for s in report.steps if s.method == "PATCH"]
    biggest = max(local.layers, key=lambda x: x.size)
    assert len(patches) >= -(-biggest.size // 100) and all(s.bytes <= 100 for s in patches)
    assert patches[1].note == "chunk 100-199"
    assert sum(s.bytes for s in patches) == sum(x.moved for x in report.layers)  # + config


def test_resume_after_a_cut_connection(built: Path, tmp_path: Path,
                                       registry: FakeRegistry) -> None:
    engine = engine_with_images(built, tmp_path, registry)
    R = registry.registry
    engine.login(R, "AWS", PASSWORD)
    engine.push(f"{R}/hello-app:v1", progress=False)
    registry.cuts = 2
    puller = BuiltinEngine(home=tmp_path / "puller")
    puller.login(R, "AWS", PASSWORD)
    report = puller.pull(f"{R}/hello-app:v1", progress=False)
    assert layer_statuses(report) == [PULLED] * 3
    resumed = [s for s in report.steps if s.note.startswith("resume from")]
    assert len(resumed) == 2
    assert [r for r in registry.storage_ranges if r][0].startswith("bytes=")
    for layer in puller.store.resolve(f"{R}/hello-app:v1").manifest.layers:
        assert dg.of_file(str(puller.store.blob_path(layer.digest))) == layer.digest
    assert_clean(puller)


def test_failed_pull_leaves_nothing_half_written(built: Path, tmp_path: Path,
                                                 registry: FakeRegistry) -> None:
    engine = engine_with_images(built, tmp_path, registry)
    R = registry.registry
    engine.login(R, "AWS", PASSWORD)
    engine.push(f"{R}/hello-app:v1", progress=False)
    registry.cuts = 1000
    puller = BuiltinEngine(home=tmp_path / "puller")
    puller.login(R, "AWS", PASSWORD)
    with pytest.raises(EngineError, match="resumes"):
        puller.pull(f"{R}/hello-app:v1", progress=False)
    assert puller.images() == []
    assert list(puller.store.blobs.iterdir()) == []
    assert_clean(puller)


def test_pull_resolves_an_index_to_linux_amd64(built: Path, tmp_path: Path,
                                               registry: FakeRegistry) -> None:
    engine = engine_with_images(built, tmp_path, registry)
    R = registry.registry
    engine.login(R, "AWS", PASSWORD)
    pushed = engine.push(f"{R}/hello-app:v1", progress=False)
    raw_v1 = registry.manifests[("hello-app", "v1")][0]
    other = mf.Descriptor(mt.DOCKER_MANIFEST, dg.of_bytes(b"arm"), 3,
                          platform={"os": "linux", "architecture": "arm64"})
    mine = mf.Descriptor(mt.DOCKER_MANIFEST, pushed.digest, len(raw_v1),
                         platform={"os": "linux", "architecture": "amd64"})
    index = mf.canonical_json({"schemaVersion": 2, "mediaType": mt.OCI_INDEX,
                               "manifests": [other.to_json(), mine.to_json()]})
    registry.manifests[("hello-app", "multi")] = (index, mt.OCI_INDEX)
    puller = BuiltinEngine(home=tmp_path / "puller")
    puller.login(R, "AWS", PASSWORD)
    report = puller.pull(f"{R}/hello-app:multi", progress=False)
    assert report.digest == dg.of_bytes(index)
    assert puller.store.resolve(f"{R}/hello-app:multi").manifest.digest == pushed.digest


def test_bearer_token_challenge(built: Path, tmp_path: Path) -> None:
    for server in serve(bearer=True):
        engine = engine_with_images(built, tmp_path, server)
        assert engine.login(server.registry, "AWS", PASSWORD) == "Login Succeeded"
        report = engine.push(f"{server.registry}/hello-app:v1", progress=False)
        assert layer_statuses(report) == [PUSHED] * 3
        assert any(s.path == "/token" for s in report.steps)
        with pytest.raises(EngineError, match="login .* failed"):
            BuiltinEngine(home=tmp_path / "x").login(server.registry, "AWS", "wrong")


@pytest.mark.parametrize(("inject", "expected", "hint"), [
    (("POST", "uploads", (404, "NAME_UNKNOWN",
                          "The repository with name 'hello-app' does not exist in the registry "
                          "with id '123456789012'")),
     "does not exist", "aws ecr create-repository --repository-name hello-app"),
    (("PUT", "manifests", (400, "TAG_INVALID",
                           "The image tag 'v1' already exists in the 'hello-app' repository and "
                           "cannot be overwritten because the repository is immutable.")),
     "cannot be overwritten", "IMMUTABLE"),
    (("PATCH", "uploads", (403, "DENIED",
                        "Your authorization token has expired. Reauthenticate and try again.")),
     "has expired", "log in again (notebook 02-authenticate)"),
])
def test_ecr_errors_become_guidance(built: Path, tmp_path: Path, registry: FakeRegistry,
                                    inject: tuple[str, str, tuple[int, str, str]],
                                    expected: str, hint: str) -> None:
    engine = engine_with_images(built, tmp_path, registry)
    engine.login(registry.registry, "AWS", PASSWORD)
    registry.inject[(inject[0], inject[1])] = inject[2]
    with pytest.raises(EngineError) as info:
        engine.push(f"{registry.registry}/hello-app:v1", progress=False)
    text = str(info.value)
    assert expected in text and hint in text
    assert PASSWORD not in text


def test_auth_failures(built: Path, tmp_path: Path, registry: FakeRegistry) -> None:
    engine = engine_with_images(built, tmp_path, registry)
    R = registry.registry
    with pytest.raises(EngineError) as info:
        engine.push(f"{R}/hello-app:v1", progress=False)
    assert "log in first (notebook 02-authenticate)" in str(info.value)
    assert "docker login --username AWS --password-stdin " + R in str(info.value)
    with pytest.raises(EngineError) as info:
        engine.login(R, "AWS", PASSWORD + "-wrong")
    assert "login attempt to" in str(info.value) and PASSWORD not in str(info.value)
    assert R not in engine.credentials.path.read_text() if engine.credentials.path.exists() \
        else True
    with pytest.raises(EngineError, match="manifest unknown"):
        engine.login(R, "AWS", PASSWORD)
        engine.pull(f"{R}/hello-app:nope", progress=False)


def test_registry_gone_mid_push(built: Path, tmp_path: Path, registry: FakeRegistry) -> None:
    engine = engine_with_images(built, tmp_path, registry)
    engine.login(registry.registry, "AWS", PASSWORD)
    registry.drop_patch = True
    with pytest.raises(EngineError, match="cannot reach the registry"):
        engine.push(f"{registry.registry}/hello-app:v1", progress=False)
    registry.shutdown()
    registry.server_close()
    with pytest.raises(EngineError, match="connection refused") as info:
        engine.pull(f"{registry.registry}/hello-app:v1", progress=False)
    assert "labkit lab up" in str(info.value)


def test_manifest_digest_is_verified(built: Path, tmp_path: Path,
                                     registry: FakeRegistry) -> None:
    engine = engine_with_images(built, tmp_path, registry)
    engine.login(registry.registry, "AWS", PASSWORD)
    registry.wrong_manifest_digest = True
    with pytest.raises(EngineError, match="reports digest"):
        engine.push(f"{registry.registry}/hello-app:v1", progress=False)


def test_corrupt_blob_is_refused(built: Path, tmp_path: Path, registry: FakeRegistry) -> None:
    engine = engine_with_images(built, tmp_path, registry)
    R = registry.registry
    engine.login(R, "AWS", PASSWORD)
    engine.push(f"{R}/hello-app:v1", progress=False)
    layer = engine.store.resolve("hello-app:v1").manifest.layers[2].digest
    registry.blobs[layer] = registry.blobs[layer][:-1] + b"!"
    puller = BuiltinEngine(home=tmp_path / "puller")
    puller.login(R, "AWS", PASSWORD)
    with pytest.raises(EngineError, match="digest mismatch"):
        puller.pull(f"{R}/hello-app:v1", progress=False)
    assert not puller.store.has_blob(layer) and puller.images() == []
    assert_clean(puller)
