"""What an image in the registry IS: its manifest's config and layers (digests, sizes) and the
layers' DiffIDs, read through the ECR API, so it works on the lab and on real AWS.

The lab's trace says which requests a pull or a push made; only the registry knows which blob
was the config, which layers a client skipped because it had them, and which DiffIDs docker
printed. Readers combine the two (labkit.course.observed, `labkit trace --last-pull`).

Why DiffIDs: `docker push` names each layer by the first 12 hex digits of its DiffID, the
sha256 of the UNCOMPRESSED layer (the image config's `rootfs.diff_ids`), while the registry
stores and names the compressed blob (`docker pull` prints that digest's short form).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..oci import mediatypes as mt
from ..oci.manifest import ManifestError
from ..oci.manifest import parse as parse_manifest

ACCEPTED = sorted(mt.MANIFESTS)


@dataclass(frozen=True)
class Blob:
    digest: str
    size: int
    diff_id: str = ""  # layers only, when the config was read


@dataclass
class ImageFacts:
    """One image manifest as the registry holds it (for an index: its linux/amd64 image)."""

    repository: str
    digest: str  # the manifest's digest
    media_type: str
    config: Blob | None = None
    layers: list[Blob] = field(default_factory=list)

    def kind_of(self, digest: str) -> str | None:
        """"config", "layer", or None for a blob that is not part of this image."""
        if self.config is not None and digest == self.config.digest:
            return "config"
        return "layer" if any(b.digest == digest for b in self.layers) else None

    @property
    def blobs(self) -> list[Blob]:
        """The config first, then the layers (the order a pull fetches them)."""
        return ([self.config] if self.config else []) + list(self.layers)


def _batch_get(ecr: Any, repository: str, reference: str) -> dict[str, Any] | None:
    key = "imageDigest" if reference.startswith("sha256:") else "imageTag"
    out = ecr.batch_get_image(repositoryName=repository, imageIds=[{key: reference}],
                              acceptedMediaTypes=ACCEPTED)
    images = out.get("images") or []
    return images[0] if images else None


def describe(target: Any, repository: str, reference: str, *, diff_ids: bool = False
             ) -> ImageFacts | None:
    """The image `repository:reference` (a tag or a digest), or None if the registry has no
    such image. `diff_ids=True` also reads the image's config blob for the layers' DiffIDs."""
    ecr = target.ecr
    found = _batch_get(ecr, repository, reference)
    if found is None:
        return None
    raw = found["imageManifest"].encode()
    try:
        manifest = parse_manifest(raw, found.get("imageManifestMediaType"))
        if manifest.is_index:
            child = manifest.platform_manifest()
            found = _batch_get(ecr, repository, child.digest)
            if found is None:
                return None
            raw = found["imageManifest"].encode()
            manifest = parse_manifest(raw, found.get("imageManifestMediaType"))
    except ManifestError:
        return None
    facts = ImageFacts(repository, manifest.digest, manifest.media_type,
                       Blob(manifest.config.digest, manifest.config.size)
                       if manifest.config else None,
                       [Blob(d.digest, d.size) for d in manifest.layers])
    if diff_ids and facts.config is not None:
        ids = rootfs_diff_ids(target, repository, facts.config.digest)
        facts.layers = [Blob(b.digest, b.size, ids[i] if i < len(ids) else "")
                        for i, b in enumerate(facts.layers)]
    return facts


def rootfs_diff_ids(target: Any, repository: str, config_digest: str) -> list[str]:
    """The config's `rootfs.diff_ids`: GetDownloadUrlForLayer, then the (pre-signed) URL."""
    import requests

    url = target.ecr.get_download_url_for_layer(repositoryName=repository,
                                                layerDigest=config_digest)["downloadUrl"]
    r = requests.get(url, timeout=30, verify=getattr(target, "verify", None) or True)
    r.raise_for_status()
    try:
        doc = json.loads(r.content)
    except ValueError:
        return []
    ids = (doc.get("rootfs") or {}).get("diff_ids") if isinstance(doc, dict) else None
    return [str(x) for x in ids] if isinstance(ids, list) else []
