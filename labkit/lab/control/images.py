"""How ECR describes an image stored in the registry: ImageDetail, sizes, artifact media types
and which indexes list an image, computed from the store's records (never a second copy)."""

from __future__ import annotations

from typing import Any

from ...oci import mediatypes as mt
from ..registry.referrers import artifact_type, document
from ..registry.storage import Storage, StoredImage


def image_size(storage: Storage, image: StoredImage) -> int:
    """ECR's imageSizeInBytes: the layers' sizes; for an index, its images' sizes together."""
    doc = document(image)
    if image.media_type in mt.INDEXES:
        total = 0
        for entry in doc.get("manifests") or []:
            if not isinstance(entry, dict):
                continue
            child = storage.get_manifest(image.repository, str(entry.get("digest", "")))
            if child is not None and child.media_type not in mt.INDEXES:
                total += image_size(storage, child)
        return total
    return sum(int(layer.get("size", 0)) for layer in doc.get("layers") or []
               if isinstance(layer, dict) and isinstance(layer.get("size", 0), int))


def referenced_by(images: list[StoredImage]) -> dict[str, list[str]]:
    """Image digest -> the digests of the indexes (manifest lists) in the same repository that
    list it: ECR deletes or expires such an image only after its index."""
    parents: dict[str, list[str]] = {}
    for image in images:
        if image.media_type not in mt.INDEXES:
            continue
        for entry in document(image).get("manifests") or []:
            if isinstance(entry, dict) and isinstance(entry.get("digest"), str):
                parents.setdefault(entry["digest"], []).append(image.digest)
    return parents


def detail(storage: Storage, registry_id: str, image: StoredImage,
           scan_status: dict[str, Any] | None = None) -> dict[str, Any]:
    """ECR's ImageDetail."""
    out: dict[str, Any] = {
        "registryId": registry_id, "repositoryName": image.repository,
        "imageDigest": image.digest, "imageSizeInBytes": image_size(storage, image),
        "imagePushedAt": image.pushed_at, "imageManifestMediaType": image.media_type,
        "imageStatus": "ACTIVE",  # the lab never archives
    }
    if image.tags:
        out["imageTags"] = list(image.tags)
    doc = document(image)
    kind = artifact_type(doc)
    if kind:
        out["artifactMediaType"] = kind
    subject = doc.get("subject")
    if isinstance(subject, dict) and subject.get("digest"):
        out["subjectManifestDigest"] = str(subject["digest"])
    if image.last_pull is not None:
        out["lastRecordedPullTime"] = image.last_pull
    if scan_status:
        out["imageScanStatus"] = scan_status
    return out
