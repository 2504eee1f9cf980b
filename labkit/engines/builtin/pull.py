"""Pull an image into the local store as `docker pull` does, verifying every digest.

GET the manifest (Accept: all four types; an index resolves to linux/amd64); each layer already
in the store is "Already exists", the others are downloaded ("Pull complete"): the blob GET's
307 redirect is followed (without the registry's Authorization when the host differs), bytes
stream into a temp file while hashed, an interrupted download resumes with `Range: bytes=N-`,
and the blob is renamed into place only once its digest and size match. The reference is
written last, so a failed pull leaves nothing half-written in the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from ...oci import digest as dg
from ...oci import manifest as mf
from ...oci import mediatypes as mt
from ..base import EngineError
from ..progress import LayerBar, Progress
from ..report import EXISTS_LOCAL, PULLED, LayerOutcome, TransferReport
from .client import RegistryClient
from .refs import Ref
from .store import BlobWriter, Store

READ_CHUNK = 1 << 20
MAX_RESUMES = 5
_CUT = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError,
        requests.exceptions.ReadTimeout, urllib3.exceptions.HTTPError, OSError)


class _ShortRead(Exception):
    """The body ended before the blob's size: resume like a cut connection."""


def _open_blob(client: RegistryClient, repo: str, digest: str, offset: int
               ) -> requests.Response:
    """GET the blob (following redirects by hand), from `offset` on."""
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    note = f"resume from {offset}" if offset else dg.short(digest)
    url = client.url(f"/v2/{repo}/blobs/{digest}")
    resp = client.request("GET", url, headers=headers, ok=(200, 206, 301, 302, 303, 307, 308),
                          stream=True, note=note)
    hops = 0
    while resp.status_code in (301, 302, 303, 307, 308):
        hops += 1
        if hops > 5:
            raise EngineError(f"too many redirects fetching blob {digest}")
        target = urljoin(url, resp.headers.get("Location", ""))
        resp.close()
        same_host = urlsplit(target).netloc == urlsplit(url).netloc
        try:
            resp = client._send("GET", target, headers, auth=same_host, stream=True)
        except EngineError as e:
            raise requests.exceptions.ConnectionError(str(e)) from None
        client.last_step = client.record("GET", target, resp.status_code, 0,
                                         "redirected (storage)")
        url = target
        if resp.status_code not in (200, 206, 301, 302, 303, 307, 308):
            raise client.error(resp, "GET", target)
    return resp


def download(client: RegistryClient, store: Store, repo: str, desc: mf.Descriptor,
             bar: LayerBar) -> int:
    """Fetch one blob into the store, resuming after cuts; returns bytes received."""
    writer: BlobWriter = store.writer()
    received = 0
    resumes = 0
    try:
        while True:
            offset = writer.size
            try:
                resp = _open_blob(client, repo, desc.digest, offset)
                step = client.last_step
                with resp:
                    if offset and resp.status_code != 206:
                        writer.truncate()  # the server ignored Range: start over
                        bar.reset()
                    # raw bytes (never content-decoded: the digest is of the bytes sent), and a
                    # short body ends the loop instead of raising, so what arrived is kept
                    resp.raw.enforce_content_length = False
                    for block in resp.raw.stream(READ_CHUNK, decode_content=False):
                        writer.write(block)
                        received += len(block)
                        bar.update(len(block))
                        if step is not None:
                            step.bytes += len(block)
                if writer.size < desc.size:
                    raise _ShortRead()
                break
            except (*_CUT, _ShortRead) as e:
                resumes += 1
                if resumes > MAX_RESUMES:
                    raise EngineError(
                        f"downloading {desc.digest} failed after {MAX_RESUMES} resumes "
                        f"({writer.size} of {desc.size} bytes): {type(e).__name__}",
                        hint="the registry keeps closing the connection; try again") from None
        writer.commit(desc.digest, desc.size)
    except BaseException:
        writer.abort()
        raise
    return received


def _manifest(client: RegistryClient, repo: str, reference: str) -> tuple[bytes, str]:
    resp = client.request("GET", f"/v2/{repo}/manifests/{reference}",
                          headers={"Accept": mt.ACCEPT_ALL}, ok=(200,), note=reference)
    raw = resp.content
    media = resp.headers.get("Content-Type", "").split(";")[0].strip()
    got = dg.of_bytes(raw)
    header = resp.headers.get("Docker-Content-Digest")
    if dg.is_digest(reference) and got != reference:
        raise EngineError(f"manifest digest mismatch: asked {reference}, received {got}")
    if header and header != got:
        raise EngineError(f"manifest digest mismatch: registry says {header}, bytes are {got}")
    return raw, media


Notify = Callable[[str, str], None]  # (docker's status words, digest)


def pull(store: Store, client: RegistryClient, ref: Ref, progress: bool = True,
         notify: Notify | None = None) -> TransferReport:
    """Pull `ref` into the store and report each layer's outcome.

    `notify(status, digest)` hears docker's words as they happen: first ("manifest", digest of
    the image manifest), then per layer "Already exists" or "Pulling fs layer", then
    "Download complete" and "Pull complete" for each layer that travels."""
    tell = notify or (lambda status, digest: None)
    start = time.monotonic()
    report = TransferReport("pull", str(ref), "builtin", steps=client.steps,
                            command=f"docker pull {ref}")
    client.repository, client.action, client.reference = ref.repository, "pull", ref.reference
    bars = Progress(progress)
    client.ping()
    raw, media = _manifest(client, ref.repository, ref.reference)
    top = dg.of_bytes(raw)
    try:
        m = mf.parse(raw, media if media in mt.MANIFESTS else None)
        if m.is_index:
            entry = m.platform_manifest("linux", "amd64")
            raw, media = _manifest(client, ref.repository, entry.digest)
            m = mf.parse(raw, media if media in mt.MANIFESTS else None)
    except mf.ManifestError as e:
        raise EngineError(f"cannot use the manifest of {ref}: {e}") from None
    if m.config is None or m.is_index:
        raise EngineError(f"{ref} does not resolve to an image manifest")
    tell("manifest", dg.of_bytes(raw))
    with store.busy():
        todo = [(m.config, "config"), *((x, "layer") for x in m.layers)]
        outcomes: dict[str, LayerOutcome] = {}
        for desc in m.layers:
            tell(EXISTS_LOCAL if store.has_blob(desc.digest) else "Pulling fs layer", desc.digest)
        for desc, kind in todo:
            if store.has_blob(desc.digest):
                outcomes[desc.digest + kind] = LayerOutcome(desc.digest, desc.size,
                                                            EXISTS_LOCAL, 0, kind)
                continue
            with bars.layer(desc.digest, desc.size, "Downloading") as bar:
                moved = download(client, store, ref.repository, desc, bar)
                bar.done(PULLED)
            if kind == "layer":
                tell("Verifying Checksum", desc.digest)
                tell("Download complete", desc.digest)
                tell(PULLED, desc.digest)
            outcomes[desc.digest + kind] = LayerOutcome(desc.digest, desc.size, PULLED, moved,
                                                        kind)
        report.layers = [outcomes[x.digest + "layer"] for x in m.layers]
        report.layers.append(outcomes[m.config.digest + "config"])
        digest = store.put_bytes(raw)
        store.set_ref(str(ref), mf.Descriptor(m.media_type, digest, len(raw)))
    store.add_sources([x.digest for x in m.layers] + [m.config.digest], ref.registry,
                      ref.repository)
    report.digest = top
    report.seconds = time.monotonic() - start
    return report
