"""The manifests that refer to another (OCI 1.1 `subject`): one list for the registry's
referrers API (`/v2/<name>/referrers/<digest>`) and the ECR API's ListImageReferrers.

Each referrer is described as the spec's descriptor: mediaType, digest, size, the artifactType
(the manifest's own, else its config's media type) and the manifest's annotations when it has
any (an empty map is left out, as Distribution's Go structs do with `omitempty`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .storage import StoredImage


def document(image: StoredImage) -> dict[str, Any]:
    """The manifest's JSON object ({} if it is not one)."""
    try:
        doc = json.loads(image.raw)
    except (ValueError, RecursionError):
        return {}
    return doc if isinstance(doc, dict) else {}


def artifact_type(doc: dict[str, Any]) -> str | None:
    """The manifest's artifactType, else its config's media type (ECR's artifactMediaType)."""
    if isinstance(doc.get("artifactType"), str) and doc["artifactType"]:
        return doc["artifactType"]
    config = doc.get("config")
    if isinstance(config, dict) and isinstance(config.get("mediaType"), str):
        return config["mediaType"] or None
    return None


def referrers(images: Iterable[StoredImage], subject: str,
              artifact_types: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Descriptors of the images whose subject is `subject`, filtered by artifact type."""
    wanted = set(artifact_types)
    found = []
    for image in images:
        doc = document(image)
        ref = doc.get("subject")
        if not isinstance(ref, dict) or ref.get("digest") != subject:
            continue
        kind = artifact_type(doc)
        if wanted and kind not in wanted:
            continue
        entry: dict[str, Any] = {"mediaType": image.media_type, "digest": image.digest,
                                 "size": len(image.raw)}
        if kind:
            entry["artifactType"] = kind
        if isinstance(doc.get("annotations"), dict) and doc["annotations"]:
            entry["annotations"] = doc["annotations"]
        found.append(entry)
    return found
