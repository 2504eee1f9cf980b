"""Images: PutImage, BatchGetImage, BatchDeleteImage, ListImages, DescribeImages,
ListImageReferrers, and the image operations of features the lab does not have (replication,
signing, archiving), on the registry's store with the same rules `/v2/` applies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ....oci import mediatypes as mt
from ....oci.manifest import Manifest, ManifestError
from ...registry import errors as registry_errors
from ...registry.manifest_rules import read_pushed, serve_as
from ...registry.referrers import referrers
from ...registry.storage import StoredImage
from .. import images as img
from ..ecr_registry import EcrRegistry, Params, paged
from ..errors import (
    ImageAlreadyExists,
    ImageDigestDoesNotMatch,
    ImageStorageClassUpdateNotSupported,
    ImageTagAlreadyExists,
    LayersNotFound,
    ManifestNotReadable,
    ReferencedImagesNotFound,
)
from ..mutability import tag_is_immutable
from ..validation import is_image_digest

OnPush = Callable[[str, Manifest, "str | None", float], None]
# Failure reasons: only ImageNotFound's is on record (aws/aws-cli#6424); the others are said in
# the lab's voice.
NOT_FOUND = registry_errors.IMAGE_NOT_FOUND
MISSING_DIGEST_AND_TAG = "The ECR lab: the image id names neither an imageDigest nor an imageTag."
INVALID_DIGEST = "The ECR lab: the imageDigest is not a digest (algorithm:hex)."
TAG_ELSEWHERE = "The ECR lab: the imageTag names another image than the imageDigest."
REFERENCED = ("The ECR lab: an image index (manifest list) in this repository lists this "
              "image; delete the index first.")
NOT_SERVED = ("The ECR lab: the image is stored as {media_type}, and acceptedMediaTypes allows "
              "no format ECR serves it as (an image asked for by digest is never translated).")


def failure(image_id: Params, code: str, reason: str) -> Params:
    return {"imageId": image_id, "failureCode": code, "failureReason": reason}


class Images:
    def __init__(self, registry: EcrRegistry, on_push: OnPush,
                 scan_status: Callable[[str, StoredImage], Params | None]):
        self.reg = registry
        self.on_push = on_push  # scan on push
        self.scan_status = scan_status

    def _lookup(self, name: str, image_id: Params) -> StoredImage | Params:
        """The image an id of a batch request names, or its failure entry."""
        digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
        if not digest and not tag:
            return failure(image_id, "MissingDigestAndTag", MISSING_DIGEST_AND_TAG)
        if digest and not is_image_digest(digest):
            return failure(image_id, "InvalidImageDigest", INVALID_DIGEST)
        found = self.reg.find(name, image_id)
        if found is not None:
            return found
        if digest and tag and self.reg.store.tag_digest(name, tag) not in (None, digest):
            return failure(image_id, "ImageTagDoesNotMatchDigest", TAG_ELSEWHERE)
        return failure(image_id, "ImageNotFound", NOT_FOUND)

    def put_image(self, params: Params) -> Params:
        reg = self.reg
        name, record = reg.record(params)
        try:
            manifest = read_pushed(params["imageManifest"].encode(),
                                   given=params.get("imageManifestMediaType"))
        except ManifestError:
            raise ManifestNotReadable() from None
        digest = manifest.digest
        wanted = params.get("imageDigest")
        if wanted and wanted != digest:
            raise ImageDigestDoesNotMatch(wanted, name, reg.registry_id)
        tag = params.get("imageTag")
        missing = reg.store.missing_references(name, manifest)
        if missing and manifest.is_index:
            raise ReferencedImagesNotFound(missing, name, reg.registry_id)
        if missing:
            raise LayersNotFound.for_push(missing, name, reg.registry_id)
        existing = reg.store.get_manifest(name, digest)
        current = reg.store.tag_digest(name, tag) if tag else None
        if existing is not None and (tag is None or current == digest):
            raise ImageAlreadyExists(digest, tag, name, reg.registry_id)
        immutable = bool(tag) and tag_is_immutable(record, tag)
        if immutable and current is not None:
            raise ImageTagAlreadyExists(name, tag)
        try:
            stored = reg.store.put_manifest(name, manifest, tag, immutable, reg.clock())
        except registry_errors.TagInvalid:  # a push raced us to the immutable tag
            raise ImageTagAlreadyExists(name, tag) from None
        image_id: Params = {"imageDigest": stored.digest}
        if tag:
            image_id["imageTag"] = tag
        self.on_push(name, manifest, tag, stored.pushed_at)
        return {"image": {"registryId": reg.registry_id, "repositoryName": name,
                          "imageId": image_id, "imageManifest": params["imageManifest"],
                          "imageManifestMediaType": manifest.media_type}}

    def batch_get_image(self, params: Params) -> Params:
        name, _ = self.reg.record(params)
        accepted = frozenset(params.get("acceptedMediaTypes") or ()) or None
        images, failures = [], []
        for image_id in params["imageIds"]:
            found = self._lookup(name, image_id)
            if isinstance(found, dict):
                failures.append(found)
                continue
            served = serve_as(self.reg.store, name, found, accepted,
                              by_tag=not image_id.get("imageDigest"))
            if served is None:
                failures.append(failure(image_id, "ImageNotFound",
                                        NOT_SERVED.format(media_type=found.media_type)))
                continue
            answered: Params = {"imageDigest": served.digest}
            if image_id.get("imageTag"):
                answered["imageTag"] = image_id["imageTag"]  # the tag asked for, not another
            images.append({"registryId": self.reg.registry_id, "repositoryName": name,
                           "imageId": answered, "imageManifest": served.raw.decode(),
                           "imageManifestMediaType": served.media_type})
        return {"images": images, "failures": failures}

    def batch_delete_image(self, params: Params) -> Params:
        """Each id is deleted or gets a failure entry.  An image an index lists is refused
        (ImageReferencedByManifestList) unless that index goes in the same request: indexes
        are deleted first."""
        store = self.reg.store
        name, _ = self.reg.record(params)
        deleted: list[Params] = []
        failures: list[Params] = []
        found: list[tuple[Params, StoredImage]] = []
        for image_id in params["imageIds"]:
            hit = self._lookup(name, image_id)
            if isinstance(hit, dict):
                failures.append(hit)
            else:
                found.append((image_id, hit))
        found.sort(key=lambda pair: pair[1].media_type not in mt.INDEXES)
        for image_id, image in found:
            tag = image_id.get("imageTag")
            if tag and not image_id.get("imageDigest") and len(image.tags) > 1:
                if store.delete_tag(name, tag):  # the image keeps its other tags
                    deleted.append({"imageDigest": image.digest, "imageTag": tag})
                continue
            if img.referenced_by(store.images(name)).get(image.digest):
                failures.append(failure(image_id, "ImageReferencedByManifestList", REFERENCED))
                continue
            tags = store.delete_manifest(name, image.digest)
            if tags is None:  # the same image twice in one request
                continue
            deleted.extend({"imageDigest": image.digest, "imageTag": t} for t in tags)
            if not tags:
                deleted.append({"imageDigest": image.digest})
        return {"imageIds": deleted, "failures": failures}

    def list_images(self, params: Params) -> Params:
        name, _ = self.reg.record(params)
        status = (params.get("filter") or {}).get("tagStatus", "ANY")
        ids: list[Params] = []
        for image in self.reg.store.images(name):
            if image.tags and status in ("ANY", "TAGGED"):
                ids.extend({"imageDigest": image.digest, "imageTag": t} for t in image.tags)
            elif not image.tags and status in ("ANY", "UNTAGGED"):
                ids.append({"imageDigest": image.digest})
        return paged("imageIds", ids, params)

    def describe_images(self, params: Params) -> Params:
        name, _ = self.reg.record(params)
        wanted = params.get("imageIds")
        if wanted:
            found: list[StoredImage] = []
            for image_id in wanted:
                found_one = self.reg.image({**params, "imageId": image_id})[1]
                if found_one.digest not in {f.digest for f in found}:
                    found.append(found_one)
        else:
            status = (params.get("filter") or {}).get("tagStatus", "ANY")
            found = [i for i in self.reg.store.images(name)
                     if status == "ANY" or (status == "TAGGED") == bool(i.tags)]
        details = [img.detail(self.reg.store, self.reg.registry_id, i, self.scan_status(name, i))
                   for i in found]
        return paged("imageDetails", details, params)

    def list_image_referrers(self, params: Params) -> Params:
        name, _ = self.reg.record(params)
        wanted = (params.get("filter") or {}).get("artifactTypes") or []
        found = referrers(self.reg.store.images(name), params["subjectId"]["imageDigest"], wanted)
        return paged("referrers", found, params)

    # ---- features the lab does not have, answered for the image they name ----
    def describe_image_replication_status(self, params: Params) -> Params:
        name, image = self.reg.image(params)
        image_id: dict[str, Any] = {"imageDigest": image.digest}
        if params["imageId"].get("imageTag"):
            image_id["imageTag"] = params["imageId"]["imageTag"]
        return {"repositoryName": name, "imageId": image_id, "replicationStatuses": []}

    def describe_image_signing_status(self, params: Params) -> Params:
        name, image = self.reg.image(params)
        return {"repositoryName": name, "imageId": {"imageDigest": image.digest},
                "registryId": self.reg.registry_id, "signingStatuses": []}

    def update_image_storage_class(self, params: Params) -> Params:
        self.reg.image(params)
        raise ImageStorageClassUpdateNotSupported()
