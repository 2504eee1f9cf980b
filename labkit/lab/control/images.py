"""How ECR describes an image stored in the registry: ImageDetail, ImageIdentifier, sizes and
artifact media types, computed from the store's records (never a second copy)."""

from __future__ import annotations

import json
from typing import Any

from ...oci import mediatypes as mt
from ..registry.storage import Storage, StoredImage


def doc_of(image: StoredImage) -> dict[str, Any]:
    try:
        doc = json.loads(image.raw)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def image_size(storage: Storage, image: StoredImage) -> int:
    """ECR's imageSizeInBytes: the layers' sizes; for an index, its images' sizes together."""
    doc = doc_of(image)
    if image.media_type in mt.INDEXES:
        total = 0
        for entry in doc.get("manifests") or []:
            child = storage.get_manifest(image.repository, str(entry.get("digest", "")))
            if child is not None and child.media_type not in mt.INDEXES:
                total += image_size(storage, child)
        return total
    return sum(int(layer.get("size", 0)) for layer in doc.get("layers") or []
               if isinstance(layer, dict))


def artifact_media_type(image: StoredImage) -> str | None:
    """The config's media type (or the OCI artifactType) as ECR's artifactMediaType."""
    doc = doc_of(image)
    if doc.get("artifactType"):
        return str(doc["artifactType"])
    config = doc.get("config")
    if isinstance(config, dict) and config.get("mediaType"):
        return str(config["mediaType"])
    return None


def detail(storage: Storage, registry_id: str, image: StoredImage,
           scan_status: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "registryId": registry_id, "repositoryName": image.repository,
        "imageDigest": image.digest, "imageSizeInBytes": image_size(storage, image),
        "imagePushedAt": image.pushed_at, "imageManifestMediaType": image.media_type,
        "imageStatus": "ACTIVE",  # the lab never archives
    }
    if image.tags:
        out["imageTags"] = list(image.tags)
    artifact = artifact_media_type(image)
    if artifact:
        out["artifactMediaType"] = artifact
    subject = doc_of(image).get("subject")
    if isinstance(subject, dict) and subject.get("digest"):
        out["subjectManifestDigest"] = str(subject["digest"])
    if image.last_pull is not None:
        out["lastRecordedPullTime"] = image.last_pull
    if scan_status:
        out["imageScanStatus"] = scan_status
    return out
