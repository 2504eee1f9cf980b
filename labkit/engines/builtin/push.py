"""Push an image from the local store as `docker push` does, layer by layer.

For each layer: HEAD in the target repository ("Layer already exists"); else a cross-repository
mount from a repository on the same registry known to hold it ("Mounted from <repo>"); else an
upload session: POST, PATCH in chunks with Content-Range, PUT ?digest= ("Pushed"). Then the
config, then the manifest PUT with its media type; the registry's Docker-Content-Digest must
equal the sha256 of the bytes we sent.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import BinaryIO

from ...oci import digest as dg
from ...oci import manifest as mf
from ..base import EngineError
from ..progress import LayerBar, Progress
from ..report import EXISTS_REMOTE, MOUNTED, PUSHED, LayerOutcome, TransferReport
from .client import RegistryClient, join_location
from .refs import Ref
from .store import Store

# Each PATCH streams up to this much from the blob file (docker sends a whole layer in one
# PATCH; ECR's minimum part is 5 MiB). Bigger chunks mean fewer round trips.
CHUNK_SIZE = int(os.environ.get("LABKIT_CHUNK_SIZE", 64 * 1024 * 1024))


def _mount_sources(store: Store, ref: Ref, digest: str) -> list[str]:
    """Other repositories on the same registry that we know hold this blob."""
    out = []
    for where in store.sources(digest):
        registry, _, repo = where.partition("/")
        if registry == ref.registry and repo and repo != ref.repository:
            out.append(repo)
    return out


class _FileSlice:
    """`length` bytes of an open blob file as a request body: streamed, never held in memory.

    It reports its length (so requests sends Content-Length, not chunked encoding), moves the
    layer's progress bar as bytes leave, and can rewind if the request must be re-sent.
    """

    BLOCK = 1 << 20  # http.client asks for 8-16 KiB at a time; bigger blocks cost less CPU

    def __init__(self, f: BinaryIO, start: int, length: int, bar: LayerBar):
        self.f, self.start, self.length, self.bar = f, start, length, bar
        self.rewind()

    def rewind(self) -> None:
        self.f.seek(self.start)
        self.left = self.length
        if self.bar.n > self.start:
            self.bar.reset(self.start)  # bytes of the refused attempt are sent again

    def __len__(self) -> int:
        return self.length

    def read(self, n: int = -1) -> bytes:
        want = self.left if n is None or n < 0 else min(self.left, max(n, self.BLOCK))
        data = self.f.read(want) if want else b""
        self.left -= len(data)
        self.bar.update(len(data))
        return data


def _upload(client: RegistryClient, store: Store, repo: str, desc: mf.Descriptor,
            location: str, progress: Progress, chunk_size: int) -> int:
    """PATCH the blob in chunks (Content-Range) to an upload session, then PUT ?digest=."""
    sent = 0
    path = store.blob_path(desc.digest)
    with open(path, "rb") as f, progress.layer(desc.digest, desc.size, "Pushing") as bar:
        size = os.fstat(f.fileno()).st_size
        while sent < size:
            length = min(chunk_size, size - sent)
            end = sent + length - 1
            resp = client.request(
                "PATCH", location, data=_FileSlice(f, sent, length, bar), ok=(202, 204),
                headers={"Content-Type": "application/octet-stream",
                         "Content-Range": f"{sent}-{end}"},
                note=f"chunk {sent}-{end}", sent=length)
            sent += length
            location = join_location(client.url(location), resp.headers.get("Location", location))
        url = join_location(client.url(location), "", digest=desc.digest)
        resp = client.request("PUT", url, ok=(201, 204), headers={
            "Content-Type": "application/octet-stream", "Content-Length": "0"},
            note=f"digest={dg.short(desc.digest)}")
        bar.done(PUSHED)
    got = resp.headers.get("Docker-Content-Digest")
    if got and got != desc.digest:
        raise EngineError(f"the registry stored {got} for blob {desc.digest}")
    return sent


def push_blob(client: RegistryClient, store: Store, ref: Ref, desc: mf.Descriptor,
              kind: str, progress: Progress, chunk_size: int = CHUNK_SIZE) -> LayerOutcome:
    """One blob, the docker way: exists? mount? upload."""
    repo = ref.repository
    head = client.request("HEAD", f"/v2/{repo}/blobs/{desc.digest}", ok=(200, 404),
                          note=dg.short(desc.digest))
    if head.status_code == 200:
        return LayerOutcome(desc.digest, desc.size, EXISTS_REMOTE, 0, kind)
    location = ""
    for source in _mount_sources(store, ref, desc.digest):
        resp = client.request(
            "POST", f"/v2/{repo}/blobs/uploads/?mount={desc.digest}&from={source}",
            ok=(201, 202), note=f"mount from {source}")
        if resp.status_code == 201:
            return LayerOutcome(desc.digest, desc.size, f"{MOUNTED} {source}", 0, kind)
        location = resp.headers.get("Location", "")  # mount refused: a session was opened
        if location:
            break
    if not location:
        resp = client.request("POST", f"/v2/{repo}/blobs/uploads/", ok=(202,),
                              headers={"Content-Length": "0"}, note="start upload")
        location = resp.headers.get("Location", "")
        if not location:
            raise EngineError("the registry opened an upload without a Location header")
    location = join_location(client.url(f"/v2/{repo}/blobs/uploads/"), location)
    sent = _upload(client, store, repo, desc, location, progress, chunk_size)
    return LayerOutcome(desc.digest, desc.size, PUSHED, sent, kind)


Notify = Callable[[str, str], None]  # (docker's status word, blob digest)


def push(store: Store, client: RegistryClient, ref: Ref, progress: bool = True,
         chunk_size: int = CHUNK_SIZE, notify: Notify | None = None) -> TransferReport:
    """Push the local image `ref` (which names its registry) and report what travelled.

    `notify(status, digest)` hears each layer's outcome as it happens (the `docker` CLI prints
    it)."""
    start = time.monotonic()
    image = store.resolve(str(ref))
    report = TransferReport("push", str(ref), "builtin", steps=client.steps,
                            command=f"docker push {ref}")
    client.repository, client.action, client.reference = ref.repository, "push", ref.reference
    bars = Progress(progress)
    client.ping()
    m = image.manifest
    assert m.config is not None
    with store.busy():  # keeps a concurrent `remove` from collecting the blobs being sent
        for layer in m.layers:
            outcome = push_blob(client, store, ref, layer, "layer", bars, chunk_size)
            report.layers.append(outcome)
            if notify:
                notify(outcome.status, outcome.digest)
        report.layers.append(push_blob(client, store, ref, m.config, "config", bars, chunk_size))
    resp = client.request("PUT", f"/v2/{ref.repository}/manifests/{ref.reference}",
                          data=m.raw, headers={"Content-Type": m.media_type}, ok=(201, 200),
                          note=m.media_type, sent=len(m.raw))
    expected = dg.of_bytes(m.raw)
    got = resp.headers.get("Docker-Content-Digest", expected)
    if got != expected:
        raise EngineError(f"the registry reports digest {got} for a manifest whose sha256 is "
                          f"{expected}", hint="the registry altered the manifest")
    report.digest = expected
    store.add_sources([x.digest for x in m.layers] + [m.config.digest], ref.registry,
                      ref.repository)
    report.seconds = time.monotonic() - start
    return report
