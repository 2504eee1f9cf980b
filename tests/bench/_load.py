"""Requests per second over many blobs and manifests: a registry seeded with many small images,
and a keep-alive load client that spreads its requests over all of them.

Why not `hey` alone: it asks for one URL over and over, which a registry answers from its
memo (the lab) or its cache (Distribution) after the first time. Here each connection takes
the next request from one shuffled list: a *cold* pass touches every object once (right after
the registry started: its memos and caches are empty, the OS page cache is warm for both), a
*warm* run goes round the same list for a number of seconds.

The client is asyncio on raw sockets (one request in flight per connection, as hey and
docker do): a few microseconds of Python per request, so it takes less of the 2 shared cores
than hey does; it checks every status and reads every body it is sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests
from _common import cpu_seconds

ACCEPT = ("application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
          "application/vnd.docker.distribution.manifest.v2+json, "
          "application/vnd.docker.distribution.manifest.list.v2+json")


@dataclass
class Seeded:
    """What a registry holds after `seed`: every blob (repo, digest) and manifest (repo, tag)."""

    blobs: list[tuple[str, str]] = field(default_factory=list)
    manifests: list[tuple[str, str]] = field(default_factory=list)


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def image_parts(i: int, seed: int) -> tuple[bytes, bytes]:
    """The layer and config of image `i`: small, distinct, the same for every registry."""
    rnd = random.Random(seed * 1_000_003 + i)
    layer = rnd.randbytes(1024 + rnd.randrange(3072))
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Labels": {"bench": str(i)}},
                         "rootfs": {"type": "layers", "diff_ids": [_sha(layer)]}}).encode()
    return layer, config


def manifest_of(layer: bytes, config: bytes) -> bytes:
    return json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": _sha(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": _sha(layer), "size": len(layer)}]}).encode()


def seed(base: str, repos: list[str], images: int, auth: tuple[str, str] | None,
         workers: int = 4, seed_value: int = 18) -> Seeded:
    """Push `images` one-layer images, spread over `repos` (tag t<i>), through the registry's
    HTTP API (POST, then PUT of each blob, then the manifest): the same bytes everywhere."""
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "s"):
            local.s = requests.Session()
            local.s.auth = auth
        return local.s

    def push(i: int) -> tuple[str, list[str], str]:
        s = session()
        repo = repos[i % len(repos)]
        layer, config = image_parts(i, seed_value)
        digests = []
        for data in (layer, config):
            d = _sha(data)
            r = s.post(f"{base}/v2/{repo}/blobs/uploads/", timeout=30)
            assert r.status_code == 202, r.text
            location = requests.compat.urljoin(base, r.headers["Location"])
            r = s.put(location, params={"digest": d}, data=data, timeout=30)
            assert r.status_code == 201, r.text
            digests.append(d)
        r = s.put(f"{base}/v2/{repo}/manifests/t{i}", data=manifest_of(layer, config),
                  headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
                  timeout=30)
        assert r.status_code == 201, r.text
        return repo, digests, f"t{i}"

    out = Seeded()
    with ThreadPoolExecutor(workers) as pool:
        for repo, digests, tag in pool.map(push, range(images)):
            out.blobs += [(repo, d) for d in digests]
            out.manifests.append((repo, tag))
    return out


def request(method: str, path: str, host: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in
                                                             headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def blob_heads(seeded: Seeded, host: str, headers: dict[str, str]) -> list[bytes]:
    return [request("HEAD", f"/v2/{repo}/blobs/{d}", host, headers) for repo, d in seeded.blobs]


def manifest_gets(seeded: Seeded, host: str, headers: dict[str, str]) -> list[bytes]:
    return [request("GET", f"/v2/{repo}/manifests/{tag}", host, {**headers, "Accept": ACCEPT})
            for repo, tag in seeded.manifests]


@dataclass
class Load:
    count: int
    seconds: float
    statuses: Counter[int]
    reconnects: int = 0  # connections the server closed (a new one carried on)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


class _Client(asyncio.Protocol):
    """One keep-alive connection: send a request, read its whole answer, send the next. When
    the server closes the connection (or says it will), `done` says so and the request it
    had not answered yet, if any, so that a new connection can carry on (as hey does)."""

    def __init__(self, take: Callable[[], bytes | None], statuses: Counter[int],
                 first: bytes | None):
        self.take, self.statuses, self.pending = take, statuses, first
        self.done: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self.buf = bytearray()
        self.need = -1
        self.closing = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._send(self.pending or self.take())

    def _send(self, req: bytes | None) -> None:
        self.pending, self.need = req, -1
        if req is None:
            self.transport.close()  # type: ignore[union-attr]
            self._finish(None)
            return
        self.transport.write(req)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.need < 0:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).lower()
            length = 0
            at = head.find(b"\r\ncontent-length:")
            is_head = self.pending is not None and self.pending.startswith(b"HEAD ")
            if at >= 0 and not is_head:
                stop = head.find(b"\r", at + 2)
                length = int(head[at + 17:stop if stop > 0 else None])
            elif b"\r\ntransfer-encoding:" in head and not is_head:
                self._fail(RuntimeError("a chunked answer: not expected here"))
                return
            self.statuses[int(head[9:12])] += 1
            self.closing = b"\r\nconnection: close" in head
            self.need = end + 4 + length
        if len(self.buf) >= self.need:
            del self.buf[:self.need]
            if self.closing:  # answered, and the server closes: carry on elsewhere
                self.pending = None
                self.transport.close()  # type: ignore[union-attr]
                self._finish(self.take())
                return
            self._send(self.take())

    def _finish(self, unanswered: bytes | None) -> None:
        if not self.done.done():
            self.done.set_result(unanswered)

    def _fail(self, e: BaseException) -> None:
        if not self.done.done():
            self.done.set_exception(e)
        self.transport.close()  # type: ignore[union-attr]

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(self.pending)  # the request it did not answer goes on a new connection


async def _run(host: str, port: int, reqs: list[bytes], conns: int, seconds: float | None
               ) -> Load:
    loop = asyncio.get_running_loop()
    statuses: Counter[int] = Counter()
    counter = itertools.count()
    n = len(reqs)
    deadline = [float("inf")]
    reconnects = [0]

    def take() -> bytes | None:
        i = next(counter)
        if seconds is None:
            return reqs[i] if i < n else None
        return reqs[i % n] if time.perf_counter() < deadline[0] else None

    async def connection() -> None:
        first: bytes | None = None
        while True:
            _, client = await loop.create_connection(
                lambda first=first: _Client(take, statuses, first), host, port)
            first = await client.done
            if first is None:
                return
            reconnects[0] += 1
            if reconnects[0] > 10 * max(n, 1000):
                raise RuntimeError("the server keeps closing connections")

    t0 = time.perf_counter()
    if seconds is not None:
        deadline[0] = t0 + seconds
    await asyncio.gather(*(connection() for _ in range(conns)))
    elapsed = time.perf_counter() - t0
    return Load(sum(statuses.values()), elapsed, statuses, reconnects[0])


def run_load(host: str, port: int, reqs: list[bytes], conns: int = 16,
             seconds: float | None = None) -> Load:
    """Send `reqs` over `conns` keep-alive connections: each once (`seconds` None: a cold
    pass), or round and round for `seconds`. Raises if any answer is not 2xx."""
    load = asyncio.run(_run(host, port, reqs, conns, seconds))
    bad = {s: c for s, c in load.statuses.items() if not 200 <= s < 300}
    if bad:
        raise RuntimeError(f"non-2xx answers: {bad}")
    return load


def shuffled(items: list[bytes], seed_value: int = 7) -> list[bytes]:
    out = list(items)
    random.Random(seed_value).shuffle(out)
    return out


def wait_quiet(pid: int, quiet: float = 0.3, limit: float = 15.0) -> None:
    """Wait until a freshly started server stops spending CPU (its start-up work, a lab's
    garbage collection at start): a cold pass must measure answers, not start-up."""
    deadline = time.monotonic() + limit
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = cpu_seconds(pid)
        if now - last < 0.02:
            return
        last = now
