"""The registry's errors: one class per refusal, rendered as the OCI distribution spec's JSON.

Each message is ECR's own words where ECR has them (learners meet the same text on AWS; each is
in tests/fixtures/ecr_messages.json with its source), else the spec's / CNCF Distribution's
default for the code.  What the lab adds to explain a refusal goes in `detail`, never into a
message that reads as ECR's.

The sentences ECR says on both paths (the registry's `/v2/` and the ECR API) are written here
once, as templates, and the ECR API's errors (control/errors.py) use the same ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, ClassVar

from ...trace import record as rec

# ---- ECR's sentences, said on /v2/ and by the ECR API alike ----------------------------------
# docker `name unknown: ...` (aws-actions/amazon-ecr-login#166) and the API's
# RepositoryNotFoundException (turbot/steampipe-plugin-aws#1938): the same sentence.
REPOSITORY_NOT_FOUND = ("The repository with name '{name}' does not exist in the registry with "
                        "id '{registry_id}'")
# docker `tag invalid: ...` (aws/containers-roadmap#862, moby/buildkit#3776).
TAG_IMMUTABLE = ("The image tag '{tag}' already exists in the '{name}' repository and cannot be "
                 "overwritten because the repository is immutable.")
# oras-project/oras-py#54 (an image manifest's blobs were never pushed).
LAYERS_MISSING = ("Layers with digests '[{digests}]' required for pushing image into repository "
                  "with name '{name}' in the registry with id '{registry_id}' do not exist")
# The same refusal for an index whose images were never pushed (ecr_messages.json
# registry.index-missing-images).
IMAGES_MISSING = ("Images with digests '[{digests}]' required for pushing image into repository "
                  "with name '{name}' in the registry with id '{registry_id}' do not exist")
# google/go-containerregistry#1568 (a manifest PUT by a digest that is not its own).
DIGEST_MISMATCH = ("The image with digest '{digest}' in repository '{name}' and registry ID "
                   "'{registry_id}' does not match the image digest that Amazon ECR has "
                   "calculated.")
# chainguard-dev/apko#450, ko-build/ko#928, containers/image#584 (/v2/: code UNSUPPORTED) and
# aws/aws-cli#8620, aws/aws-sdk#193 (PutImage): a manifest ECR cannot read, or one without a
# top-level mediaType.
MANIFEST_NOT_READABLE = ("Invalid parameter at 'ImageManifest' failed to satisfy constraint: "
                         "'Invalid JSON syntax'")
# apple/containerization#790 (416, BLOB_UPLOAD_INVALID), GoogleContainerTools/kaniko#607: a chunk
# that does not start where the upload stands (the ECR API's out-of-order part too).
CHUNK_OUT_OF_ORDER = "First byte of the layer part is {first_byte} instead of {expected_byte}"
# docker `manifest unknown: Requested image not found` (anchore/syft#982); BatchDeleteImage's
# failureReason (aws/aws-cli#6424).
IMAGE_NOT_FOUND = "Requested image not found"
# The lab's own words (ECR's model allows tags docker cannot pull; the lab refuses them on both
# paths so that every tag it keeps can be pulled): marked as the lab's.
TAG_REFUSED = ("The ECR lab refuses the tag '{tag}': docker can only pull tags matching "
               "[a-zA-Z0-9_][a-zA-Z0-9._-]{{0,127}}.")


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


class UploadDigestMismatch(BlobUploadInvalid):
    """The bytes uploaded are not the digest the final PUT names (dotnet/sdk-container-builds
    #472 and #424: ECR's code and sentence); nothing is stored."""

    def __init__(self, digest: str, actual: str):
        super().__init__("None of the provided layer digests match the calculated layer digest",
                         detail={"digest": digest, "actual": actual})
        self.digest, self.actual = digest, actual


class ChunkRangeInvalid(BlobUploadInvalid):
    """A chunk whose Content-Range cannot be used (416, with the upload's Location and Range)."""

    status = 416


class ChunkOutOfOrder(ChunkRangeInvalid):
    """A chunk that does not start where the upload stands: ECR's sentence
    (apple/containerization#790: 416 and this body; GoogleContainerTools/kaniko#607)."""

    def __init__(self, first_byte: int, expected_byte: int):
        super().__init__(CHUNK_OUT_OF_ORDER.format(first_byte=first_byte,
                                                   expected_byte=expected_byte))


class BlobUploadUnknown(RegistryError):
    code, status, default_message = "BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry"

    @classmethod
    def of(cls, upload_id: str) -> BlobUploadUnknown:
        return cls(detail={"uuid": upload_id}, facts={rec.MISSING: "upload"})


class LayersMissing(RegistryError):
    """An image manifest whose config or layers were never pushed to the repository: ECR
    answers BLOB_UPLOAD_UNKNOWN (oras-project/oras-py#54), not the spec's MANIFEST_BLOB_UNKNOWN."""

    code, status = "BLOB_UPLOAD_UNKNOWN", 400

    def __init__(self, digests: Iterable[str], name: str, registry_id: str):
        digests = list(digests)
        listed = ", ".join(digests)
        super().__init__(LAYERS_MISSING.format(digests=listed, name=name,
                                               registry_id=registry_id), detail=listed,
                         facts={rec.MISSING_BLOBS: digests})


class DigestInvalid(RegistryError):
    code, status = "DIGEST_INVALID", 400
    default_message = "provided digest did not match uploaded content"


class ManifestBlobUnknown(RegistryError):
    code, status, default_message = "MANIFEST_BLOB_UNKNOWN", 400, "blob unknown to registry"

    @classmethod
    def images_missing(cls, digests: Iterable[str], name: str,
                       registry_id: str) -> ManifestBlobUnknown:
        """An index whose images were never pushed to the repository."""
        digests = list(digests)
        listed = ", ".join(digests)
        return cls(IMAGES_MISSING.format(digests=listed, name=name, registry_id=registry_id),
                   detail=listed, facts={rec.MISSING_BLOBS: digests})


class ManifestInvalid(RegistryError):
    code, status, default_message = "MANIFEST_INVALID", 400, "manifest invalid"

    @classmethod
    def digest_mismatch(cls, digest: str, actual: str, name: str,
                        registry_id: str) -> ManifestInvalid:
        """A manifest PUT by a digest that is not the manifest's own."""
        return cls(DIGEST_MISMATCH.format(digest=digest, name=name, registry_id=registry_id),
                   detail={"digest": digest, "actual": actual})


class ManifestNotReadable(RegistryError):
    """A manifest ECR cannot read: ECR's API sentence under the code UNSUPPORTED (see
    MANIFEST_NOT_READABLE); why the lab could not read it is in `detail`."""

    code, status, default_message = "UNSUPPORTED", 400, MANIFEST_NOT_READABLE

    def __init__(self, reason: str):
        super().__init__(detail={"reason": reason})


class ManifestUnknown(RegistryError):
    code, status, default_message = "MANIFEST_UNKNOWN", 404, IMAGE_NOT_FOUND

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
        """A missing repository (pull, or push with no creation template)."""
        return cls(REPOSITORY_NOT_FOUND.format(name=name, registry_id=registry_id),
                   facts={rec.MISSING: "repository"})


class SizeInvalid(RegistryError):
    code, status = "SIZE_INVALID", 400
    default_message = "provided length did not match content length"


class TagInvalid(RegistryError):
    code, status, default_message = "TAG_INVALID", 400, "manifest tag did not match URI"

    @classmethod
    def immutable(cls, tag: str, name: str, existing: str | None = None) -> TagInvalid:
        """Overwriting a tag of an IMMUTABLE repository (`existing`: the digest the tag holds,
        for the trace)."""
        return cls(TAG_IMMUTABLE.format(tag=tag, name=name),
                   facts={rec.EXISTING_DIGEST: existing} if existing else None)

    @classmethod
    def refused(cls, tag: str) -> TagInvalid:
        """A tag docker could not pull (the lab's own refusal, see TAG_REFUSED)."""
        return cls(TAG_REFUSED.format(tag=tag[:200]), detail={"tag": tag[:200]})


class Unauthorized(RegistryError):
    code, status, default_message = "UNAUTHORIZED", 401, "authentication required"


class Denied(RegistryError):
    code, status = "DENIED", 403
    default_message = "requested access to the resource is denied"


class Unsupported(RegistryError):
    code, status, default_message = "UNSUPPORTED", 405, "the operation is unsupported"


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
    """Distribution's code for a blob GET's Range the blob cannot satisfy (416)."""

    code, status, default_message = "RANGE_INVALID", 416, "invalid content range"


ALL: tuple[type[RegistryError], ...] = (
    BlobUnknown, BlobUploadInvalid, BlobUploadUnknown, DigestInvalid, ManifestBlobUnknown,
    ManifestInvalid, ManifestUnknown, NameInvalid, NameUnknown, SizeInvalid, TagInvalid,
    Unauthorized, Denied, Unsupported, TooManyRequests, RangeInvalid, InsufficientStorage,
    UnknownError,
)
