"""The registry's errors: one class per OCI distribution-spec code, rendered as the spec's JSON.

Messages are ECR's own wording where ECR has one (learners meet the same text on AWS), else the
spec's / CNCF Distribution's wording.  Sources for ECR's texts: the NAME_UNKNOWN and TAG_INVALID
texts appear verbatim in docker / buildkit error reports against ECR (e.g. moby/buildkit#3776);
the missing-layers text in oras-project/oras-py#54; "Requested image not found" in docker pull
errors ("manifest unknown: Requested image not found").
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, ClassVar

from ...trace import record as rec


class RegistryError(Exception):
    """Base: an HTTP status, a spec code, a message and an optional detail.

    `facts` are for the lab's trace only (never sent): what an explanation of the refusal
    needs beyond the message, e.g. which layers a manifest lacks (labkit/trace/record.py)."""

    code: ClassVar[str] = "UNKNOWN"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "unknown error"

    def __init__(self, message: str | None = None, detail: Any = None,
                 headers: dict[str, str] | None = None, facts: dict[str, Any] | None = None):
        self.message = message or self.default_message
        self.detail = detail
        self.headers = dict(headers or {})
        self.facts = dict(facts or {})
        super().__init__(self.message)

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            entry["detail"] = self.detail
        return {"errors": [entry]}

    def body(self) -> bytes:
        return json.dumps(self.to_json()).encode()


class UnknownError(RegistryError):
    """Last resort for a bug: the client still gets the spec's JSON shape, never a traceback."""


class BlobUnknown(RegistryError):
    code, status, default_message = "BLOB_UNKNOWN", 404, "blob unknown to registry"

    @classmethod
    def of(cls, digest: str) -> BlobUnknown:
        return cls(detail={"digest": digest}, facts={rec.MISSING: "blob"})


class BlobUploadInvalid(RegistryError):
    code, status, default_message = "BLOB_UPLOAD_INVALID", 400, "blob upload invalid"


class BlobUploadUnknown(RegistryError):
    code, status, default_message = "BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry"

    @classmethod
    def of(cls, upload_id: str) -> BlobUploadUnknown:
        return cls(detail={"uuid": upload_id}, facts={rec.MISSING: "upload"})


class DigestInvalid(RegistryError):
    code, status = "DIGEST_INVALID", 400
    default_message = "provided digest did not match uploaded content"


class ManifestBlobUnknown(RegistryError):
    code, status, default_message = "MANIFEST_BLOB_UNKNOWN", 400, "blob unknown to registry"

    @classmethod
    def missing(cls, digests: Iterable[str], name: str, registry_id: str) -> ManifestBlobUnknown:
        """ECR's wording for a manifest whose layers were never pushed to the repository."""
        digests = list(digests)
        listed = ", ".join(digests)
        return cls(f"Layers with digests '[{listed}]' required for pushing image into repository "
                   f"with name '{name}' in the registry with id '{registry_id}' do not exist",
                   detail=listed, facts={rec.MISSING_BLOBS: digests})


class ManifestInvalid(RegistryError):
    code, status, default_message = "MANIFEST_INVALID", 400, "manifest invalid"


class ManifestUnknown(RegistryError):
    code, status, default_message = "MANIFEST_UNKNOWN", 404, "Requested image not found"

    @classmethod
    def of(cls, reference: str, detail: Any = None) -> ManifestUnknown:
        """No image under this tag or digest (the facts say which of the two was asked)."""
        missing = "digest" if ":" in reference else "tag"
        return cls(detail=detail if detail is not None else {"reference": reference},
                   facts={rec.MISSING: missing})


class NameInvalid(RegistryError):
    code, status, default_message = "NAME_INVALID", 400, "invalid repository name"


class NameUnknown(RegistryError):
    code, status, default_message = "NAME_UNKNOWN", 404, "repository name not known to registry"

    @classmethod
    def for_repo(cls, name: str, registry_id: str) -> NameUnknown:
        """ECR's wording for a missing repository (pull, or push with no creation template)."""
        return cls(f"The repository with name '{name}' does not exist in the registry with id "
                   f"'{registry_id}'", facts={rec.MISSING: "repository"})


class SizeInvalid(RegistryError):
    code, status = "SIZE_INVALID", 400
    default_message = "provided length did not match content length"


class TagInvalid(RegistryError):
    code, status, default_message = "TAG_INVALID", 400, "manifest tag did not match URI"

    @classmethod
    def immutable(cls, tag: str, name: str, existing: str | None = None) -> TagInvalid:
        """ECR's wording for overwriting a tag in an IMMUTABLE repository (`existing`: the
        digest the tag holds, for the trace)."""
        return cls(f"The image tag '{tag}' already exists in the '{name}' repository and cannot "
                   f"be overwritten because the repository is immutable.",
                   facts={rec.EXISTING_DIGEST: existing} if existing else None)


class Unauthorized(RegistryError):
    code, status, default_message = "UNAUTHORIZED", 401, "authentication required"


class Denied(RegistryError):
    code, status = "DENIED", 403
    default_message = "requested access to the resource is denied"


class Unsupported(RegistryError):
    code, status, default_message = "UNSUPPORTED", 405, "The operation is unsupported."


class TooManyRequests(RegistryError):
    code, status, default_message = "TOOMANYREQUESTS", 429, "Rate exceeded"


class InsufficientStorage(RegistryError):
    """The lab's disk is full.  Distribution answers an opaque 500 there (and may hang:
    distribution/distribution#4896); the lab says 507 Insufficient Storage (RFC 4918), which
    docker prints as "received unexpected HTTP status: 507 Insufficient Storage", with a JSON
    message for clients that read the body.  Nothing half-written is kept."""

    code, status = "UNKNOWN", 507
    default_message = ("The lab's disk is full (no space left on device): nothing was stored. "
                       "Free some disk space (or delete images), then push again.")


class RangeInvalid(RegistryError):
    """Distribution's code for a chunk that does not start where the upload stands (416)."""

    code, status, default_message = "RANGE_INVALID", 416, "invalid content range"


ALL: tuple[type[RegistryError], ...] = (
    BlobUnknown, BlobUploadInvalid, BlobUploadUnknown, DigestInvalid, ManifestBlobUnknown,
    ManifestInvalid, ManifestUnknown, NameInvalid, NameUnknown, SizeInvalid, TagInvalid,
    Unauthorized, Denied, Unsupported, TooManyRequests, RangeInvalid, InsufficientStorage,
    UnknownError,
)
