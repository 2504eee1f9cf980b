"""Reports of what a `docker push` / `docker pull` typed by the learner did, read from the lab.

The course's steps are commands run by the docker CLI (or the built-in engine behind the same
command line), so labkit holds no report object of its own for them. The lab saw every request,
and the registry knows the image's manifest: together they say, layer by layer, what travelled.

This is also what keeps the course's checks independent of the Docker Engine's cache: what
`docker pull` prints ("Already exists") depends on every image on the daemon, including other
learners' and earlier runs'; the requests this lab received for this pull do not.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from ..engines.report import (
    EXISTS_LOCAL,
    EXISTS_REMOTE,
    MOUNTED,
    PULLED,
    PUSHED,
    LayerOutcome,
    TransferReport,
)

MANIFEST_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
]
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def manifest(target: Any, repository: str, tag: str) -> dict[str, Any]:
    """The image manifest behind `repository:tag`, from ECR's BatchGetImage."""
    out = target.ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": tag}],
                                     acceptedMediaTypes=MANIFEST_TYPES)
    images = out.get("images") or []
    if not images:
        raise LookupError(f"the registry has no image {repository}:{tag}")
    return json.loads(images[0]["imageManifest"])


def _split(ref: str) -> tuple[str, str]:
    """`REGISTRY/name:tag` -> (name, tag)."""
    rest = ref.split("/", 1)[1] if "/" in ref else ref
    name, _, tag = rest.rpartition(":")
    return name, tag


def _blob_digest(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def pull_report(c: Any, ref: str, trace: list[dict[str, Any]]) -> TransferReport:
    """What the pull of `ref` fetched (its trace since a mark): 'Pull complete' or 'Already exists'."""
    name, tag = _split(ref)
    doc = manifest(c.target, name, tag)
    fetched = {_blob_digest(r["path"]) for r in trace if r.get("method") == "GET"
               and r.get("path", "").startswith(f"/v2/{name}/blobs/") and r.get("status") in
               (200, 206, 307)}
    layers = []
    for layer in doc.get("layers", []):
        got = layer["digest"] in fetched
        layers.append(LayerOutcome(layer["digest"], int(layer.get("size", 0)),
                                   PULLED if got else EXISTS_LOCAL,
                                   int(layer.get("size", 0)) if got else 0))
    cfg = doc.get("config", {})
    if cfg:
        got = cfg["digest"] in fetched
        layers.append(LayerOutcome(cfg["digest"], int(cfg.get("size", 0)),
                                   PULLED if got else EXISTS_LOCAL,
                                   int(cfg.get("size", 0)) if got else 0, kind="config"))
    return TransferReport("pull", ref, c.engine.name, layers, digest=_manifest_digest(c, name, tag),
                          command=f"docker pull {ref}")


def push_report(c: Any, ref: str, trace: list[dict[str, Any]]) -> TransferReport:
    """What the push of `ref` sent (its trace since a mark): Pushed, Mounted or already there."""
    name, tag = _split(ref)
    doc = manifest(c.target, name, tag)
    uploaded: set[str] = set()
    mounted: dict[str, str] = {}
    for r in trace:
        path, query = r.get("path", ""), unquote(r.get("query") or "")
        if not path.startswith(f"/v2/{name}/blobs/uploads") or r.get("status") != 201:
            continue
        if r.get("method") == "PUT":
            uploaded.update(_DIGEST.findall(query))
        elif r.get("method") == "POST" and "mount=" in query:
            source = re.search(r"from=([^&]+)", query)
            for d in _DIGEST.findall(query):
                mounted[d] = source.group(1) if source else ""
    layers = []
    for blob, kind in [*((x, "layer") for x in doc.get("layers", [])),
                       *(((doc["config"], "config"),) if doc.get("config") else ())]:
        d, size = blob["digest"], int(blob.get("size", 0))
        if d in uploaded:
            layers.append(LayerOutcome(d, size, PUSHED, size, kind))
        elif d in mounted:
            layers.append(LayerOutcome(d, size, f"{MOUNTED} {mounted[d]}".strip(), 0, kind))
        else:
            layers.append(LayerOutcome(d, size, EXISTS_REMOTE, 0, kind))
    return TransferReport("push", ref, c.engine.name, layers, digest=_manifest_digest(c, name, tag),
                          command=f"docker push {ref}")


def _manifest_digest(c: Any, name: str, tag: str) -> str:
    row = c.target.images(name).tagged(tag)
    return row.digest if row is not None else ""
