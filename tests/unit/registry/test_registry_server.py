"""The registry on a real threaded HTTP server on 127.0.0.1, driven with `requests`."""

from __future__ import annotations

import hashlib
import os
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from labkit.oci import digest as dg
from tests.registry_server import make_app, serve


@pytest.fixture()
def registry(tmp_path: Path) -> Iterator[tuple[str, object]]:
    app, _ = make_app(tmp_path / "reg", {"hello-app": False, "team/base": False})
    with serve(app) as url:
        yield url, app


def chunks(data: bytes, size: int = 65536) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


def test_chunked_transfer_encoding_upload_and_redirected_download(registry):
    url, app = registry
    data = os.urandom(3 * 1024 * 1024 + 17)
    digest = dg.of_bytes(data)
    r = requests.post(f"{url}/v2/hello-app/blobs/uploads/")
    assert r.status_code == 202
    # a generator body: requests sends Transfer-Encoding: chunked, no Content-Length
    r = requests.patch(r.headers["Location"], data=chunks(data))
    assert r.status_code == 202 and r.headers["Range"] == f"0-{len(data) - 1}"
    r = requests.put(f"{r.headers['Location']}?digest={digest}")
    assert r.status_code == 201
    r = requests.get(f"{url}/v2/hello-app/blobs/{digest}")  # follows the 307
    assert r.status_code == 200 and r.content == data
    assert [h.status_code for h in r.history] == [307]
    assert r.url.startswith(f"{url}/_storage/blobs/sha256/")


def test_monolithic_streamed_post(registry):
    url, app = registry
    data = os.urandom(2 * 1024 * 1024)
    digest = dg.of_bytes(data)
    r = requests.post(f"{url}/v2/hello-app/blobs/uploads/?digest={digest}", data=data)
    assert r.status_code == 201 and r.headers["Location"] == f"{url}/v2/hello-app/blobs/{digest}"
    r = requests.head(f"{url}/v2/hello-app/blobs/{digest}")
    assert r.status_code == 200 and int(r.headers["Content-Length"]) == len(data)


def test_concurrent_push_of_the_same_layer(registry):
    url, app = registry
    data = os.urandom(4 * 1024 * 1024)
    digest = dg.of_bytes(data)
    results: list[int] = []
    barrier = threading.Barrier(4)

    def push() -> None:
        loc = requests.post(f"{url}/v2/hello-app/blobs/uploads/").headers["Location"]
        barrier.wait()
        r = requests.put(f"{loc}?digest={digest}", data=data)
        results.append(r.status_code)

    threads = [threading.Thread(target=push) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [201] * 4
    blob_dir = app.storage.blob_path(digest).parent
    assert [p.name for p in blob_dir.iterdir()] == [digest[7:]]
    assert dg.of_file(str(app.storage.blob_path(digest))) == digest
    assert list((app.storage.root / "uploads").iterdir()) == []


def test_interleaved_sessions_keep_their_own_hash(registry):
    url, _ = registry
    a, b = os.urandom(300_000), os.urandom(300_000)
    la = requests.post(f"{url}/v2/hello-app/blobs/uploads/").headers["Location"]
    lb = requests.post(f"{url}/v2/team/base/blobs/uploads/").headers["Location"]
    for i in range(0, 300_000, 100_000):
        la = requests.patch(la, data=a[i:i + 100_000],
                            headers={"Content-Range": f"{i}-{i + 99_999}"}).headers["Location"]
        lb = requests.patch(lb, data=b[i:i + 100_000]).headers["Location"]
    assert requests.put(f"{la}?digest={dg.of_bytes(a)}").status_code == 201
    assert requests.put(f"{lb}?digest={dg.of_bytes(b)}").status_code == 201


def test_memory_does_not_grow_with_blob_size(registry):
    """A 48 MiB streamed upload and download allocate a few MiB at most."""
    url, _ = registry
    size, block = 48 * 1024 * 1024, os.urandom(1024 * 1024)
    h = hashlib.sha256()
    for _ in range(size // len(block)):
        h.update(block)
    digest = f"sha256:{h.hexdigest()}"

    def body() -> Iterator[bytes]:
        for _ in range(size // len(block)):
            yield block

    tracemalloc.start()
    try:
        loc = requests.post(f"{url}/v2/hello-app/blobs/uploads/").headers["Location"]
        r = requests.put(f"{loc}?digest={digest}", data=body())
        assert r.status_code == 201
        got = hashlib.sha256()
        with requests.get(f"{url}/v2/hello-app/blobs/{digest}", stream=True) as r:
            for part in r.iter_content(1024 * 1024):
                got.update(part)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert f"sha256:{got.hexdigest()}" == digest
    assert peak < 16 * 1024 * 1024, f"peak traced memory {peak / 2**20:.1f} MiB"


def test_errors_over_http_are_spec_json(registry):
    url, _ = registry
    r = requests.get(f"{url}/v2/nothere/manifests/latest")
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json()["errors"][0]["code"] == "NAME_UNKNOWN"
    assert r.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_broken_chunked_framing_is_a_clean_400(registry):
    """Raw HTTP with a bad chunk header: the client gets BLOB_UPLOAD_INVALID, nothing stored."""
    import socket

    url, app = registry
    loc = requests.post(f"{url}/v2/hello-app/blobs/uploads/").headers["Location"]
    host, port = url.removeprefix("http://").split(":")
    path = loc.removeprefix(url)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"PATCH {path} HTTP/1.1\r\nHost: {host}\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n".encode())
        reply = b""
        while block := sock.recv(65536):  # the server closes the connection after answering
            reply += block
    assert reply.startswith(b"HTTP/1.1 400"), reply[:100]
    assert b"BLOB_UPLOAD_INVALID" in reply
    r = requests.get(loc)
    assert r.status_code == 204 and r.headers["Range"] == "0-0"  # the partial chunk rolled back
