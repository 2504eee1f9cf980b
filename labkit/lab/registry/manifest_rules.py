"""ECR's rules for manifests, on `/v2/` and in the ECR API alike: what a push may store
(`read_pushed`) and what a pull is answered with (`serve_as`).

A pushed manifest must name its media type in the document: ECR refuses one without a top-level
`mediaType` as 'Invalid JSON syntax' (containers/image#584, ko-build/ko#928 on `/v2/`;
aws/aws-cli#8620 for PutImage), whatever Content-Type the client sent; PutImage may give it in
`imageManifestMediaType` instead.

A pull gets the manifest as stored when the client accepts it.  Otherwise (Amazon ECR user
guide, "Container image manifest format support"): asked for by tag, an image in the other
format is translated (Docker schema 2 <-> OCI, `oci.convert`); an index the client cannot take
is resolved to its linux/amd64 image, as ECR and Distribution do for old clients; asked for by
digest, there is no translation.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

from ...oci import convert
from ...oci import digest as dg
from ...oci import mediatypes as mt
from ...oci.manifest import Manifest, ManifestError, parse

if TYPE_CHECKING:
    from .storage import Storage, StoredImage


def read_pushed(raw: bytes, content_type: str | None = None, *,
                given: str | None = None) -> Manifest:
    """The manifest a push sends, as ECR reads it; ManifestError (why) if ECR would refuse it.

    `given` is PutImage's imageManifestMediaType; `content_type` the `/v2/` PUT's header, which
    must agree with the document but does not stand in for its `mediaType`."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ManifestError(f"the manifest is not valid JSON: {e}") from None
    except RecursionError:
        raise ManifestError("the manifest's JSON is nested too deeply") from None
    declared = doc.get("mediaType") if isinstance(doc, dict) else None
    if declared is None and not given:
        raise ManifestError("the manifest has no top-level mediaType (ECR needs it in the "
                            "document, or PutImage's imageManifestMediaType)")
    try:
        return parse(raw, given or content_type)
    except RecursionError:
        raise ManifestError("the manifest's JSON is nested too deeply") from None


def serve_as(store: Storage, name: str, image: StoredImage, accepted: frozenset[str] | None,
             by_tag: bool) -> StoredImage | None:
    """What a pull of `image` is answered with, given the media types the client accepts (None:
    anything); None when ECR has nothing the client accepts."""
    if accepted is None or image.media_type in accepted:
        return image
    if image.media_type in mt.INDEXES and accepted & mt.IMAGE_MANIFESTS:
        try:
            entry = parse(image.raw).platform_manifest()
        except ManifestError:
            return None
        child = store.get_manifest(name, entry.digest, tags=False)
        return serve_as(store, name, child, accepted, by_tag) if child is not None else None
    if not by_tag:
        return None
    for target in (mt.OCI_MANIFEST, mt.DOCKER_MANIFEST):
        if target in accepted:
            raw = convert.translate(image.raw, image.media_type, target)
            if raw is not None:
                return replace(image, raw=raw, media_type=target, digest=dg.of_bytes(raw),
                               translated_from=image.digest)
    return None
