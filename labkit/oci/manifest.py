"""Parse and build image manifests and indexes (Docker schema 2 and OCI), one definition for all."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from . import digest as dg
from . import mediatypes as mt

MAX_MANIFEST_BYTES = 4 * 1024 * 1024


class ManifestError(ValueError):
    """The bytes are not a manifest we understand; the message says why."""


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: dict[str, Any] | None = None
    annotations: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest,
                               "size": self.size}
        if self.platform:
            out["platform"] = self.platform
        if self.annotations:
            out["annotations"] = self.annotations
        return out

    @classmethod
    def from_json(cls, d: Any) -> Descriptor:
        if not isinstance(d, dict):
            raise ManifestError("descriptor must be an object")
        digest, size = d.get("digest"), d.get("size")
        if not isinstance(digest, str) or not dg.is_digest(digest):
            raise ManifestError(f"descriptor has an invalid digest: {digest!r}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ManifestError(f"descriptor {digest} has an invalid size: {size!r}")
        media_type = d.get("mediaType", "")
        if not isinstance(media_type, str):
            raise ManifestError("descriptor mediaType must be a string")
        return cls(media_type, digest, size, d.get("platform"), d.get("annotations"))


@dataclass(frozen=True)
class Manifest:
    """An image manifest or an index, with the exact bytes it was parsed from."""

    media_type: str
    raw: bytes
    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()
    manifests: tuple[Descriptor, ...] = ()  # for an index
    subject: Descriptor | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return dg.of_bytes(self.raw)

    @property
    def is_index(self) -> bool:
        return self.media_type in mt.INDEXES

    @property
    def layers_size(self) -> int:
        """Sum of the layer sizes: what ECR reports as imageSizeInBytes."""
        return sum(layer.size for layer in self.layers)

    def references(self) -> list[Descriptor]:
        """Every blob or manifest this one points at."""
        refs = list(self.manifests) if self.is_index else [*( [self.config] if self.config else []),
                                                             *self.layers]
        return refs

    def platform_manifest(self, os: str = "linux", arch: str = "amd64") -> Descriptor:
        """For an index: the entry for os/arch (what docker resolves on a linux/amd64 host)."""
        for d in self.manifests:
            p = d.platform or {}
            if p.get("os") == os and p.get("architecture") == arch:
                return d
        raise ManifestError(f"the index has no manifest for {os}/{arch}")


def parse(raw: bytes, content_type: str | None = None) -> Manifest:
    """Parse manifest bytes; content_type (the PUT's Content-Type) wins over mediaType if given."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"manifest is {len(raw)} bytes; the limit is {MAX_MANIFEST_BYTES}")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ManifestError(f"manifest is not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise ManifestError("manifest must be a JSON object")
    declared = doc.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise ManifestError("mediaType must be a string")
    ct = (content_type or "").split(";")[0].strip()
    media_type = ct if ct in mt.MANIFESTS else declared
    if media_type is None:
        # OCI allows mediaType to be absent: infer from shape.
        media_type = mt.OCI_INDEX if "manifests" in doc else mt.OCI_MANIFEST
    if media_type not in mt.MANIFESTS:
        raise ManifestError(f"unsupported manifest media type {media_type!r}")
    if declared is not None and declared != media_type:
        raise ManifestError(
            f"mediaType {declared!r} in the manifest does not match Content-Type {media_type!r}")
    if doc.get("schemaVersion") != 2:
        raise ManifestError("schemaVersion must be 2")
    subject = Descriptor.from_json(doc["subject"]) if "subject" in doc else None
    if media_type in mt.INDEXES:
        entries = doc.get("manifests")
        if not isinstance(entries, list):
            raise ManifestError("an index needs a 'manifests' list")
        return Manifest(media_type, raw, manifests=tuple(Descriptor.from_json(m) for m in entries),
                        subject=subject)
    if "config" not in doc:
        raise ManifestError("an image manifest needs a 'config' descriptor")
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise ManifestError("an image manifest needs a 'layers' list")
    return Manifest(media_type, raw, config=Descriptor.from_json(doc["config"]),
                    layers=tuple(Descriptor.from_json(x) for x in layers), subject=subject)


def build(config: Descriptor, layers: list[Descriptor], media_type: str = mt.OCI_MANIFEST,
          annotations: dict[str, str] | None = None) -> bytes:
    """Canonical manifest bytes (sorted keys, no spaces), so equal inputs give equal digests."""
    doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": media_type,
                           "config": config.to_json(), "layers": [x.to_json() for x in layers]}
    if annotations:
        doc["annotations"] = annotations
    return canonical_json(doc)


def canonical_json(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
