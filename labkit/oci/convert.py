"""Translating an image manifest between Docker schema 2 and OCI, as ECR does on a pull by tag
when the client does not accept the stored format (Amazon ECR user guide, "Container image
manifest format support": schema 2 asked for as OCI is "Translated to OCI", OCI asked for as
schema 2 is "Translated to V2, schema 2").

Only the media types change: the config and layer blobs are the same bytes, so their digests
and sizes stay.  A manifest that has no faithful counterpart (an artifact with a `subject` or
`artifactType`, a config that is not an image config, a layer compression schema 2 cannot name)
is not translated.  The output is deterministic (the same input gives the same bytes, hence the
same digest), indented as docker's own schema 2 manifests are.
"""

from __future__ import annotations

import json
from typing import Any

from . import mediatypes as mt

NONDISTRIBUTABLE_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
# Docker schema 2 media type -> OCI media type, for the parts of an image manifest.
TO_OCI = {
    mt.DOCKER_CONFIG: mt.OCI_CONFIG,
    mt.DOCKER_LAYER: mt.OCI_LAYER,
    mt.DOCKER_FOREIGN_LAYER: NONDISTRIBUTABLE_GZIP,
}
TO_DOCKER = {oci: docker for docker, oci in TO_OCI.items()}
TARGETS = {mt.OCI_MANIFEST: TO_OCI, mt.DOCKER_MANIFEST: TO_DOCKER}


def translate(raw: bytes, media_type: str, target: str) -> bytes | None:
    """The manifest as `target` (an image manifest media type), or None if it has no faithful
    translation (including: it already is `target`, or it is not an image manifest)."""
    table = TARGETS.get(target)
    if table is None or media_type == target or media_type not in mt.IMAGE_MANIFESTS:
        return None
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(doc, dict) or "subject" in doc or "artifactType" in doc:
        return None
    config, layers = doc.get("config"), doc.get("layers")
    if not isinstance(config, dict) or not isinstance(layers, list):
        return None
    parts = [_descriptor(config, table), *(_descriptor(layer, table) for layer in layers)]
    if any(p is None for p in parts):
        return None
    out: dict[str, Any] = {"schemaVersion": 2, "mediaType": target, "config": parts[0],
                           "layers": parts[1:]}
    if target == mt.OCI_MANIFEST and isinstance(doc.get("annotations"), dict):
        out["annotations"] = doc["annotations"]
    return json.dumps(out, indent=3).encode()


def _descriptor(d: Any, table: dict[str, str]) -> dict[str, Any] | None:
    if not isinstance(d, dict) or d.get("mediaType") not in table:
        return None
    out: dict[str, Any] = {"mediaType": table[d["mediaType"]], "size": d.get("size"),
                           "digest": d.get("digest")}
    if d.get("urls"):
        out["urls"] = d["urls"]
    return out
