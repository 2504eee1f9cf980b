"""The lab's ECR backend: every operation of botocore's ECR model, on the registry's one store.

Method names are the operations' names in snake case (`create_repository` for CreateRepository);
each takes the request's members as a dict and returns the response's members.  Repositories are
records in the store (`Storage.repository_record`), images and tags are its manifests and tags,
layers its blobs: the ECR API and `/v2/` read and write the same records.  What the lab does not
do (pulling through to an upstream registry, replicating to another region, archiving, signing)
answers a clear ECR-style error instead.

The same object is the registry's ControlPlane (`repository_exists`, `tag_immutable`,
`repository_for_push`, `image_pushed`), so both paths apply one set of rules.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...oci.manifest import Manifest, ManifestError
from ...oci.manifest import parse as parse_manifest
from ..auth.signing import Signer
from ..registry.presign import Presigner
from ..registry.storage import Storage, StoredImage
from . import errors as E
from . import images as img
from . import lifecycle
from .errors import EcrError
from .layers import LayerApi
from .mutability import check_settings, tag_is_immutable
from .settings import RegistrySettings
from .validation import check_image_tag

log = logging.getLogger("labkit.lab.control")
Params = dict[str, Any]
PAGE = 100


def _first_tag(image: StoredImage) -> Params:
    return {"imageTag": image.tags[0]} if image.tags else {}


def _page(items: list[Any], params: Params, limit: int = PAGE) -> tuple[list[Any], str | None]:
    """ECR's maxResults/nextToken: the token is the offset of the next page."""
    start = 0
    token = params.get("nextToken")
    if token:
        try:
            start = int(token)
        except ValueError:
            raise E.invalid_parameter("Invalid parameter at 'nextToken' failed to satisfy "
                                      "constraint: 'must be a token from a previous call'") from None
    size = int(params.get("maxResults") or limit)
    chunk = items[start:start + size]
    nxt = str(start + size) if start + size < len(items) else None
    return chunk, nxt


def _paged(key: str, items: list[Any], params: Params) -> Params:
    chunk, nxt = _page(items, params)
    out: Params = {key: chunk}
    if nxt:
        out["nextToken"] = nxt
    return out


class EcrBackend:
    """ECR's models for one account and region, on the registry's store."""

    def __init__(self, storage: Storage, home: Path, registry_id: str, region: str,
                 registry_host: Callable[[], str], signer: Signer,
                 clock: Callable[[], float] = time.time):
        self.storage = storage
        self.registry_id = registry_id
        self.region = region
        self.registry_host = registry_host
        self.clock = clock
        self.settings = RegistrySettings(home / "registry-settings.json")
        self.layers = LayerApi(storage, registry_id, Presigner(signer),
                               lambda: f"http://{self.registry_host()}")
        self.lock = threading.RLock()
        self._previews: dict[str, Params] = {}
        self._scans: dict[tuple[str, str], Params] = {}  # (repository, digest) -> last scan
        # ECR's create on push: the lab sets it to CreateOnPush over its creation templates.
        self.create_on_push: Callable[[str], bool] | None = None
        self.template_api: Any = None  # the lab's TemplateApi, for the template operations
        self._import_legacy(home / "control.json")

    # ---- the registry's ControlPlane --------------------------------------------------------
    def repository_exists(self, name: str) -> bool:
        return self.storage.has_repository(name)

    def repository_names(self) -> list[str]:
        return [n for n in self.storage.repositories() if self.repository_exists(n)]

    def tag_immutable(self, name: str, tag: str) -> bool:
        record = self.storage.repository_record(name) or {}
        return tag_is_immutable(record, tag)

    def repository_for_push(self, name: str) -> bool:
        """A push to a missing repository: ECR creates it only when a creation template applied
        for CREATE_ON_PUSH matches.  `create_on_push(name) -> bool` is that hook (ecr-lifecycle's
        CreateOnPush over templates.match(name, "CREATE_ON_PUSH")); without it, no template
        exists and the push fails with ECR's `name unknown`."""
        if self.repository_exists(name):
            return True
        hook = self.create_on_push
        return bool(hook is not None and hook(name)) and self.repository_exists(name)

    def image_pushed(self, name: str, manifest: Manifest, tag: str | None,
                     pushed_at: float) -> None:
        """Nothing to copy: the store already holds it.  Scan on push when the repository asks."""
        record = self.storage.repository_record(name) or {}
        if not (record.get("imageScanningConfiguration") or {}).get("scanOnPush"):
            return
        image = self.storage.get_manifest(name, manifest.digest)
        if image is not None:
            with contextlib.suppress(OSError, ValueError):
                self._scan(name, image)

    # ---- lifecycle seam (ecr-lifecycle's evaluate() calls into these) -----------------------
    def images_for_lifecycle(self, repository: str) -> list[Any]:
        """The repository's images as lifecycle.ImageFacts (what `lifecycle.evaluate` takes)."""
        facts = lifecycle.ImageFacts
        return [facts(digest=i.digest, tags=list(i.tags), pushed_at=i.pushed_at,
                      size=img.image_size(self.storage, i))
                for i in self.storage.images(repository)]

    def expire_images(self, repository: str, digests: list[str]) -> None:
        """Remove the images from the store: `/v2/` stops serving them at once."""
        for digest in digests:
            self.storage.delete_manifest(repository, digest)

    # ---- helpers ----------------------------------------------------------------------------
    def _record(self, params: Params) -> tuple[str, Params]:
        name = params["repositoryName"]
        registry = params.get("registryId")
        if registry and registry != self.registry_id:
            raise E.repository_not_found(name, registry)
        record = self.storage.repository_record(name)
        if record is None:
            raise E.repository_not_found(name, self.registry_id)
        return name, record

    def _arn(self, name: str) -> str:
        return f"arn:aws:ecr:{self.region}:{self.registry_id}:repository/{name}"

    def _repository(self, name: str, record: Params) -> Params:
        out = {
            "repositoryArn": self._arn(name), "registryId": self.registry_id,
            "repositoryName": name, "repositoryUri": f"{self.registry_host()}/{name}",
            "createdAt": record.get("createdAt", 0.0),
            "imageTagMutability": record.get("imageTagMutability", "MUTABLE"),
            "imageScanningConfiguration": record.get("imageScanningConfiguration",
                                                     {"scanOnPush": False}),
            "encryptionConfiguration": record.get("encryptionConfiguration",
                                                  {"encryptionType": "AES256"}),
        }
        if record.get("imageTagMutabilityExclusionFilters"):
            out["imageTagMutabilityExclusionFilters"] = record["imageTagMutabilityExclusionFilters"]
        return out

    def _find(self, name: str, image_id: Params) -> StoredImage | None:
        digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
        if not digest and not tag:
            return None
        try:
            image = self.storage.get_manifest(name, digest or tag)
        except Exception:  # noqa: BLE001 - an unparsable digest or tag is simply not found
            return None
        if image is None or (digest and tag and tag not in image.tags):
            return None
        return image

    def _scan_status(self, name: str, image: StoredImage) -> Params | None:
        done = self._scans.get((name, image.digest))
        return done["status"] if done else None

    def _resource_name(self, arn: str) -> str:
        prefix = f"arn:aws:ecr:{self.region}:{self.registry_id}:repository/"
        if not arn.startswith(prefix):
            raise E.invalid_parameter(f"Invalid parameter at 'resourceArn' failed to satisfy "
                                      f"constraint: 'must be the ARN of a repository of this "
                                      f"registry ({prefix}<name>)'")
        name = arn[len(prefix):]
        if self.storage.repository_record(name) is None:
            raise E.repository_not_found(name, self.registry_id)
        return name

    # ---- repositories -----------------------------------------------------------------------
    def create_repository(self, params: Params) -> Params:
        name = params["repositoryName"]
        mode = params.get("imageTagMutability") or "MUTABLE"
        filters = check_settings(mode, params.get("imageTagMutabilityExclusionFilters"))
        tags = params.get("tags") or []
        self._check_tags(tags)
        encryption = params.get("encryptionConfiguration") or {"encryptionType": "AES256"}
        if encryption.get("encryptionType") not in ("AES256", None):
            raise E.unsupported("KMS encryption", "the lab has no KMS; its storage is plain files "
                                "on your disk.", "InvalidParameterException")
        record = {
            "createdAt": self.clock(), "imageTagMutability": mode,
            "imageScanningConfiguration": params.get("imageScanningConfiguration")
            or {"scanOnPush": False},
            "encryptionConfiguration": {"encryptionType": "AES256"}, "tags": tags,
        }
        if filters:
            record["imageTagMutabilityExclusionFilters"] = filters
        if not self.storage.create_repository(name, record):
            raise E.repository_exists(name, self.registry_id)
        return {"repository": self._repository(name, record)}

    def describe_repositories(self, params: Params) -> Params:
        names = params.get("repositoryNames")
        if names:
            found = []
            for name in names:
                record = self.storage.repository_record(name)
                if record is None:
                    raise E.repository_not_found(name, self.registry_id)
                found.append(self._repository(name, record))
            return {"repositories": found}
        repos = [self._repository(n, self.storage.repository_record(n) or {})
                 for n in self.repository_names()]
        return _paged("repositories", repos, params)

    def delete_repository(self, params: Params) -> Params:
        name, record = self._record(params)
        if self.storage.images(name) and not params.get("force"):
            raise EcrError("RepositoryNotEmptyException",
                           f"The repository with name '{name}' in registry with id "
                           f"'{self.registry_id}' cannot be deleted because it still contains "
                           "images")
        out = self._repository(name, record)
        self.storage.delete_repository(name)
        return {"repository": out}

    def put_image_tag_mutability(self, params: Params) -> Params:
        name, _ = self._record(params)
        mode = params["imageTagMutability"]
        filters = check_settings(mode, params.get("imageTagMutabilityExclusionFilters"))
        self.storage.update_repository(name, {"imageTagMutability": mode,
                                              "imageTagMutabilityExclusionFilters": filters or None})
        out: Params = {"registryId": self.registry_id, "repositoryName": name,
                       "imageTagMutability": mode}
        if filters:
            out["imageTagMutabilityExclusionFilters"] = filters
        return out

    def put_image_scanning_configuration(self, params: Params) -> Params:
        name, _ = self._record(params)
        config = {"scanOnPush": bool(params["imageScanningConfiguration"].get("scanOnPush"))}
        self.storage.update_repository(name, {"imageScanningConfiguration": config})
        return {"registryId": self.registry_id, "repositoryName": name,
                "imageScanningConfiguration": config}

    def batch_get_repository_scanning_configuration(self, params: Params) -> Params:
        configs, failures = [], []
        for name in params["repositoryNames"]:
            record = self.storage.repository_record(name)
            if record is None:
                failures.append({"repositoryName": name, "failureCode": "REPOSITORY_NOT_FOUND",
                                 "failureReason": "REPOSITORY_NOT_FOUND"})
                continue
            on_push = bool(record.get("imageScanningConfiguration", {}).get("scanOnPush"))
            configs.append({"repositoryArn": self._arn(name), "repositoryName": name,
                            "scanOnPush": on_push,
                            "scanFrequency": "SCAN_ON_PUSH" if on_push else "MANUAL",
                            "appliedScanFilters": []})
        return {"scanningConfigurations": configs, "failures": failures}

    # policies
    def set_repository_policy(self, params: Params) -> Params:
        name, _ = self._record(params)
        text = params["policyText"]
        _json_text(text, "policyText")
        self.storage.update_repository(name, {"policy": text})
        return {"registryId": self.registry_id, "repositoryName": name, "policyText": text}

    def get_repository_policy(self, params: Params) -> Params:
        name, record = self._record(params)
        if not record.get("policy"):
            raise EcrError("RepositoryPolicyNotFoundException",
                           f"Repository policy does not exist for the repository with name "
                           f"'{name}' in the registry with id '{self.registry_id}'")
        return {"registryId": self.registry_id, "repositoryName": name,
                "policyText": record["policy"]}

    def delete_repository_policy(self, params: Params) -> Params:
        out = self.get_repository_policy(params)
        self.storage.update_repository(out["repositoryName"], {"policy": None})
        return out

    def put_lifecycle_policy(self, params: Params) -> Params:
        name, _ = self._record(params)
        text = params["lifecyclePolicyText"]
        _json_text(text, "lifecyclePolicyText")
        lifecycle.validate(text)
        self.storage.update_repository(name, {"lifecyclePolicy": text})
        return {"registryId": self.registry_id, "repositoryName": name,
                "lifecyclePolicyText": text}

    def _lifecycle_policy(self, name: str, record: Params) -> str:
        text = record.get("lifecyclePolicy")
        if not text:
            raise EcrError("LifecyclePolicyNotFoundException",
                           f"Lifecycle policy does not exist for the repository with name "
                           f"'{name}' in the registry with id '{self.registry_id}'")
        return text

    def get_lifecycle_policy(self, params: Params) -> Params:
        name, record = self._record(params)
        return {"registryId": self.registry_id, "repositoryName": name,
                "lifecyclePolicyText": self._lifecycle_policy(name, record),
                "lastEvaluatedAt": record.get("lifecycleEvaluatedAt", record.get("createdAt"))}

    def delete_lifecycle_policy(self, params: Params) -> Params:
        out = self.get_lifecycle_policy(params)
        self.storage.update_repository(out["repositoryName"], {"lifecyclePolicy": None})
        return out

    def start_lifecycle_policy_preview(self, params: Params) -> Params:
        name, record = self._record(params)
        text = params.get("lifecyclePolicyText") or self._lifecycle_policy(name, record)
        lifecycle.validate(text)
        verdicts = lifecycle.evaluate(text, self.images_for_lifecycle(name), self.clock())
        self._previews[name] = {"text": text, "verdicts": verdicts}
        return {"registryId": self.registry_id, "repositoryName": name,
                "lifecyclePolicyText": text, "status": "IN_PROGRESS"}

    def get_lifecycle_policy_preview(self, params: Params) -> Params:
        name, _ = self._record(params)
        preview = self._previews.get(name)
        if preview is None:
            raise EcrError("LifecyclePolicyPreviewNotFoundException",
                           f"There is no dry run for the repository with name '{name}' in the "
                           f"registry with id '{self.registry_id}'")
        by_digest = {i.digest: i for i in self.storage.images(name)}
        results = []
        for v in preview["verdicts"]:
            stored = by_digest.get(v.digest)
            results.append({"imageDigest": v.digest, "imageTags": list(v.tags),
                            "imagePushedAt": stored.pushed_at if stored else 0.0,
                            "action": {"type": getattr(v, "action", "EXPIRE")},
                            "appliedRulePriority": v.rule_priority})
        return {"registryId": self.registry_id, "repositoryName": name,
                "lifecyclePolicyText": preview["text"], "status": "COMPLETE",
                "previewResults": results,
                "summary": {"expiringImageTotalCount": len(results)}}

    # tags of resources
    @staticmethod
    def _check_tags(tags: list[Params]) -> None:
        for tag in tags:
            if not tag.get("Key"):
                raise EcrError("InvalidTagParameterException", "Tag keys must not be empty.")
        if len(tags) > 50:
            raise EcrError("TooManyTagsException", "A repository can have at most 50 tags.")

    def list_tags_for_resource(self, params: Params) -> Params:
        name = self._resource_name(params["resourceArn"])
        return {"tags": (self.storage.repository_record(name) or {}).get("tags", [])}

    def tag_resource(self, params: Params) -> Params:
        name = self._resource_name(params["resourceArn"])
        self._check_tags(params["tags"])
        current = {t["Key"]: t for t in (self.storage.repository_record(name) or {}).get("tags", [])}
        current.update({t["Key"]: {"Key": t["Key"], "Value": t.get("Value", "")}
                        for t in params["tags"]})
        self._check_tags(list(current.values()))
        self.storage.update_repository(name, {"tags": list(current.values())})
        return {}

    def untag_resource(self, params: Params) -> Params:
        name = self._resource_name(params["resourceArn"])
        drop = set(params["tagKeys"])
        tags = [t for t in (self.storage.repository_record(name) or {}).get("tags", [])
                if t["Key"] not in drop]
        self.storage.update_repository(name, {"tags": tags})
        return {}

    # ---- images -----------------------------------------------------------------------------
    def _parse(self, text: str, media_type: str | None) -> Manifest:
        try:
            return parse_manifest(text.encode(), media_type)
        except ManifestError as e:
            raise E.invalid_parameter(f"Invalid parameter at 'imageManifest' failed to satisfy "
                                      f"constraint: '{e}'") from None
        except RecursionError:
            raise E.invalid_parameter("Invalid parameter at 'imageManifest' failed to satisfy "
                                      "constraint: 'Invalid JSON syntax'") from None

    def put_image(self, params: Params) -> Params:
        name, record = self._record(params)
        manifest = self._parse(params["imageManifest"], params.get("imageManifestMediaType"))
        digest = manifest.digest
        wanted = params.get("imageDigest")
        if wanted and wanted != digest:
            raise EcrError("ImageDigestDoesNotMatchException",
                           f"Invalid parameter at 'imageDigest' failed to satisfy constraint: "
                           f"'the digest of the manifest is {digest}, not {wanted}'")
        tag = params.get("imageTag")
        if tag is not None:
            check_image_tag(tag)
        missing = self.storage.missing_references(name, manifest)
        if missing and manifest.is_index:
            raise EcrError("ReferencedImagesNotFoundException",
                           f"Images with digests '[{', '.join(missing)}]' referenced by the "
                           f"image index do not exist in the repository with name '{name}' in "
                           f"the registry with id '{self.registry_id}'")
        if missing:
            raise EcrError("LayersNotFoundException",
                           f"Layers with digests '[{', '.join(missing)}]' required for pushing "
                           f"image into repository with name '{name}' in the registry with id "
                           f"'{self.registry_id}' do not exist")
        existing = self.storage.get_manifest(name, digest)
        current = self.storage.tag_digest(name, tag) if tag else None
        if existing is not None and (tag is None or current == digest):
            shown = f"and tag '{tag}' " if tag else ""
            raise EcrError("ImageAlreadyExistsException",
                           f"Image with digest '{digest}' {shown}already exists in the repository "
                           f"with name '{name}' in registry with id '{self.registry_id}'")
        immutable = bool(tag) and tag_is_immutable(record, tag)
        if immutable and current is not None:
            raise E.image_tag_already_exists(name, tag)
        try:
            stored = self.storage.put_manifest(name, manifest, tag, immutable, self.clock())
        except Exception as e:  # the store's TAG_INVALID when a push raced us to the tag
            if type(e).__name__ == "TagInvalid":
                raise E.image_tag_already_exists(name, tag) from None
            raise
        image_id: Params = {"imageDigest": stored.digest}
        if tag:
            image_id["imageTag"] = tag
        self.image_pushed(name, manifest, tag, stored.pushed_at)
        return {"image": {"registryId": self.registry_id, "repositoryName": name,
                          "imageId": image_id, "imageManifest": params["imageManifest"],
                          "imageManifestMediaType": manifest.media_type}}

    def batch_get_image(self, params: Params) -> Params:
        name, _ = self._record(params)
        accepted = set(params.get("acceptedMediaTypes") or [])
        images, failures = [], []
        for image_id in params["imageIds"]:
            if not image_id.get("imageDigest") and not image_id.get("imageTag"):
                failures.append({"imageId": image_id, "failureCode": "MissingDigestAndTag",
                                 "failureReason": "Missing digest and tag"})
                continue
            found = self._find(name, image_id)
            if found is None:
                failures.append({"imageId": image_id, "failureCode": "ImageNotFound",
                                 "failureReason": "Requested image not found"})
                continue
            if accepted and found.media_type not in accepted:
                failures.append({"imageId": image_id, "failureCode": "UnsupportedImageType",
                                 "failureReason": f"The image's media type {found.media_type} "
                                 "is not in acceptedMediaTypes"})
                continue
            answered: Params = {"imageDigest": found.digest}
            if image_id.get("imageTag"):
                answered["imageTag"] = image_id["imageTag"]  # the tag asked for, not another
            images.append({"registryId": self.registry_id, "repositoryName": name,
                           "imageId": answered, "imageManifest": found.raw.decode(),
                           "imageManifestMediaType": found.media_type})
        return {"images": images, "failures": failures}

    def batch_delete_image(self, params: Params) -> Params:
        name, _ = self._record(params)
        deleted, failures = [], []
        for image_id in params["imageIds"]:
            digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
            if not digest and not tag:
                failures.append({"imageId": image_id, "failureCode": "MissingDigestAndTag",
                                 "failureReason": "Missing digest and tag"})
                continue
            found = self._find(name, image_id)
            if found is None:
                failures.append({"imageId": image_id, "failureCode": "ImageNotFound",
                                 "failureReason": "Requested image not found"})
                continue
            if tag and not digest and len(found.tags) > 1:
                self.storage.delete_tag(name, tag)  # the image keeps its other tags
                deleted.append({"imageDigest": found.digest, "imageTag": tag})
                continue
            tags = self.storage.delete_manifest(name, found.digest) or []
            deleted.extend({"imageDigest": found.digest, "imageTag": t} for t in tags)
            if not tags:
                deleted.append({"imageDigest": found.digest})
        return {"imageIds": deleted, "failures": failures}

    def list_images(self, params: Params) -> Params:
        name, _ = self._record(params)
        status = (params.get("filter") or {}).get("tagStatus", "ANY")
        ids: list[Params] = []
        for image in self.storage.images(name):
            if image.tags and status in ("ANY", "TAGGED"):
                ids.extend({"imageDigest": image.digest, "imageTag": t} for t in image.tags)
            elif not image.tags and status in ("ANY", "UNTAGGED"):
                ids.append({"imageDigest": image.digest})
        return _paged("imageIds", ids, params)

    def describe_images(self, params: Params) -> Params:
        name, _ = self._record(params)
        wanted = params.get("imageIds")
        if wanted:
            found = []
            for image_id in wanted:
                image = self._find(name, image_id)
                if image is None:
                    raise E.image_not_found(image_id, name, self.registry_id)
                if image.digest not in {f.digest for f in found}:
                    found.append(image)
        else:
            status = (params.get("filter") or {}).get("tagStatus", "ANY")
            found = [i for i in self.storage.images(name)
                     if status == "ANY" or (status == "TAGGED") == bool(i.tags)]
        details = [img.detail(self.storage, self.registry_id, i, self._scan_status(name, i))
                   for i in found]
        return _paged("imageDetails", details, params)

    def list_image_referrers(self, params: Params) -> Params:
        name, _ = self._record(params)
        subject = params["subjectId"]["imageDigest"]
        wanted = (params.get("filter") or {}).get("artifactTypes") or []
        out = []
        for image in self.storage.images(name):
            doc = img.doc_of(image)
            if not isinstance(doc.get("subject"), dict) or doc["subject"].get("digest") != subject:
                continue
            artifact = img.artifact_media_type(image)
            if wanted and artifact not in wanted:
                continue
            entry: Params = {"digest": image.digest, "mediaType": image.media_type,
                             "size": len(image.raw)}
            if artifact:
                entry["artifactType"] = artifact
            if isinstance(doc.get("annotations"), dict):
                entry["annotations"] = doc["annotations"]
            out.append(entry)
        return _paged("referrers", out, params)

    # ---- layers -----------------------------------------------------------------------------
    def initiate_layer_upload(self, params: Params) -> Params:
        name, _ = self._record(params)
        return self.layers.initiate(name)

    def upload_layer_part(self, params: Params) -> Params:
        name, _ = self._record(params)
        return self.layers.upload_part(name, params["uploadId"], params["partFirstByte"],
                                       params["partLastByte"], params["layerPartBlob"])

    def complete_layer_upload(self, params: Params) -> Params:
        name, _ = self._record(params)
        return self.layers.complete(name, params["uploadId"], params["layerDigests"])

    def batch_check_layer_availability(self, params: Params) -> Params:
        name, _ = self._record(params)
        return self.layers.check(name, params["layerDigests"])

    def get_download_url_for_layer(self, params: Params) -> Params:
        name, _ = self._record(params)
        return self.layers.download_url(name, params["layerDigest"])

    # ---- scanning ---------------------------------------------------------------------------
    def _image_or_fail(self, params: Params) -> tuple[str, StoredImage]:
        name, _ = self._record(params)
        image = self._find(name, params["imageId"])
        if image is None:
            raise E.image_not_found(params["imageId"], name, self.registry_id)
        return name, image

    def _scan(self, name: str, image: StoredImage) -> Params:
        """Scan now (scanning.py: never an invented finding) and keep the result."""
        from . import scanning

        def layers() -> Any:
            doc = json.loads(image.raw)
            for layer in doc.get("layers") or []:
                yield open(self.storage.blob_path(layer["digest"]), "rb")  # noqa: SIM115

        result = scanning.scan(layers)
        done = {"status": result.image_scan_status(),
                "findings": result.image_scan_findings(self.clock())}
        self._scans[(name, image.digest)] = done
        return done

    def start_image_scan(self, params: Params) -> Params:
        name, image = self._image_or_fail(params)
        done = self._scan(name, image)
        return {"registryId": self.registry_id, "repositoryName": name,
                "imageId": {"imageDigest": image.digest, **_first_tag(image)},
                "imageScanStatus": done["status"]}

    def describe_image_scan_findings(self, params: Params) -> Params:
        name, image = self._image_or_fail(params)
        done = self._scans.get((name, image.digest))
        if done is None:
            raise EcrError("ScanNotFoundException",
                           f"Image scan does not exist for the image with '{{imageDigest:"
                           f"'{image.digest}'}}' in the repository with name '{name}' in the "
                           f"registry with id '{self.registry_id}'")
        return {"registryId": self.registry_id, "repositoryName": name,
                "imageId": {"imageDigest": image.digest, **_first_tag(image)},
                "imageScanStatus": done["status"], "imageScanFindings": done["findings"]}

    def get_registry_scanning_configuration(self, params: Params) -> Params:
        return {"registryId": self.registry_id,
                "scanningConfiguration": self.settings.get("scanningConfiguration")}

    def put_registry_scanning_configuration(self, params: Params) -> Params:
        scan_type = params.get("scanType") or "BASIC"
        if scan_type == "ENHANCED":
            raise E.unsupported("ENHANCED scanning", "enhanced scanning is Amazon Inspector, "
                                "which the lab does not have.")
        config = {"scanType": scan_type, "rules": list(params.get("rules") or [])}
        self.settings.change(lambda s: s.__setitem__("scanningConfiguration", config))
        return {"registryScanningConfiguration": config}

    # ---- registry -------------------------------------------------------------------------
    def describe_registry(self, params: Params) -> Params:
        return {"registryId": self.registry_id,
                "replicationConfiguration": self.settings.get("replicationConfiguration")}

    def put_replication_configuration(self, params: Params) -> Params:
        config = params["replicationConfiguration"]
        if config.get("rules"):
            raise E.unsupported("replication", "the lab is one registry in one region; there is "
                                "nowhere to replicate to.")
        self.settings.change(lambda s: s.__setitem__("replicationConfiguration", {"rules": []}))
        return {"replicationConfiguration": {"rules": []}}

    def describe_image_replication_status(self, params: Params) -> Params:
        name, image = self._image_or_fail(params)
        image_id = {"imageDigest": image.digest}
        if params["imageId"].get("imageTag"):
            image_id["imageTag"] = params["imageId"]["imageTag"]
        return {"repositoryName": name, "imageId": image_id, "replicationStatuses": []}

    def put_registry_policy(self, params: Params) -> Params:
        text = params["policyText"]
        _json_text(text, "policyText")
        self.settings.change(lambda s: s.__setitem__("registryPolicy", text))
        return {"registryId": self.registry_id, "policyText": text}

    def get_registry_policy(self, params: Params) -> Params:
        text = self.settings.get("registryPolicy")
        if not text:
            raise EcrError("RegistryPolicyNotFoundException",
                           f"Registry policy does not exist in the registry with id "
                           f"'{self.registry_id}'")
        return {"registryId": self.registry_id, "policyText": text}

    def delete_registry_policy(self, params: Params) -> Params:
        out = self.get_registry_policy(params)
        self.settings.change(lambda s: s.__setitem__("registryPolicy", None))
        return out

    def get_account_setting(self, params: Params) -> Params:
        name = params["name"]
        settings = self.settings.get("accountSettings")
        if name not in settings:
            raise E.invalid_parameter(f"Invalid parameter at 'name' failed to satisfy "
                                      f"constraint: 'must be one of {sorted(settings)}'")
        return {"name": name, "value": settings[name]}

    def put_account_setting(self, params: Params) -> Params:
        name, value = params["name"], params["value"]
        allowed = {"BASIC_SCAN_TYPE_VERSION": {"AWS_NATIVE", "CLAIR"},
                   "REGISTRY_POLICY_SCOPE": {"V1", "V2"}}
        if name not in allowed or value not in allowed[name]:
            raise E.invalid_parameter(f"Invalid parameter at 'name' failed to satisfy "
                                      f"constraint: 'the lab knows the settings "
                                      f"{ {k: sorted(v) for k, v in allowed.items()} }'")
        self.settings.change(lambda s: s["accountSettings"].__setitem__(name, value))
        return {"name": name, "value": value}

    # pull time update exclusions: principals whose pulls do not update lastRecordedPullTime
    def register_pull_time_update_exclusion(self, params: Params) -> Params:
        arn = params["principalArn"]

        def add(state: Params) -> None:
            if any(e["principalArn"] == arn for e in state["pullTimeUpdateExclusions"]):
                raise EcrError("ExclusionAlreadyExistsException",
                               f"An exclusion for '{arn}' already exists.")
            state["pullTimeUpdateExclusions"].append({"principalArn": arn,
                                                      "createdAt": self.clock()})
        self.settings.change(add)
        return {"principalArn": arn, "createdAt": self.clock()}

    def deregister_pull_time_update_exclusion(self, params: Params) -> Params:
        arn = params["principalArn"]

        def drop(state: Params) -> None:
            before = state["pullTimeUpdateExclusions"]
            state["pullTimeUpdateExclusions"] = [e for e in before if e["principalArn"] != arn]
            if len(before) == len(state["pullTimeUpdateExclusions"]):
                raise EcrError("ExclusionNotFoundException",
                               f"No exclusion for '{arn}' exists.")
        self.settings.change(drop)
        return {"principalArn": arn}

    def list_pull_time_update_exclusions(self, params: Params) -> Params:
        arns = [e["principalArn"] for e in self.settings.get("pullTimeUpdateExclusions")]
        return _paged("pullTimeUpdateExclusions", arns, params)

    # ---- what the lab does not do ----------------------------------------------------------
    def create_pull_through_cache_rule(self, params: Params) -> Params:
        raise E.unsupported("pull through cache rules", "the lab works offline and cannot "
                            "reach an upstream registry.", "UnsupportedUpstreamRegistryException")

    def describe_pull_through_cache_rules(self, params: Params) -> Params:
        if params.get("ecrRepositoryPrefixes"):
            raise _no_cache_rule(params["ecrRepositoryPrefixes"][0], self.registry_id)
        return {"pullThroughCacheRules": []}

    def delete_pull_through_cache_rule(self, params: Params) -> Params:
        raise _no_cache_rule(params["ecrRepositoryPrefix"], self.registry_id)

    update_pull_through_cache_rule = delete_pull_through_cache_rule
    validate_pull_through_cache_rule = delete_pull_through_cache_rule

    def start_replication_backfill(self, params: Params) -> Params:
        raise E.unsupported("replication backfills", "the lab is one registry in one region.")

    def describe_replication_backfill_results(self, params: Params) -> Params:
        raise E.unsupported("replication backfills", "the lab is one registry in one region.")

    list_replication_backfills = describe_replication_backfill_results
    stop_replication_backfill = start_replication_backfill

    def update_image_storage_class(self, params: Params) -> Params:
        self._image_or_fail(params)
        raise E.unsupported("archiving images", "the lab keeps every image in one storage "
                            "class.", "ImageStorageClassUpdateNotSupportedException")

    def put_signing_configuration(self, params: Params) -> Params:
        raise E.unsupported("managed image signing", "signing needs AWS Signer, which the lab "
                            "does not have.")

    def get_signing_configuration(self, params: Params) -> Params:
        raise EcrError("SigningConfigurationNotFoundException",
                       f"The registry with id '{self.registry_id}' has no signing "
                       "configuration (the ECR lab does not support managed signing).")

    delete_signing_configuration = get_signing_configuration

    def describe_image_signing_status(self, params: Params) -> Params:
        name, image = self._image_or_fail(params)
        return {"repositoryName": name, "imageId": {"imageDigest": image.digest},
                "registryId": self.registry_id, "signingStatuses": []}

    # ---- creation templates (the data lives in ecr-lifecycle's templates.py) ---------------
    def _templates(self, action: str, params: Params) -> Params:
        """The lab's TemplateApi (templates.py holds the records) answers; set by the lab."""
        if self.template_api is None:
            raise E.unsupported("repository creation templates here",
                                "this backend was built without the lab's template store.")
        return self.template_api.handle(action, params)

    def create_repository_creation_template(self, params: Params) -> Params:
        return self._templates("CreateRepositoryCreationTemplate", params)

    def delete_repository_creation_template(self, params: Params) -> Params:
        return self._templates("DeleteRepositoryCreationTemplate", params)

    def describe_repository_creation_templates(self, params: Params) -> Params:
        return self._templates("DescribeRepositoryCreationTemplates", params)

    def update_repository_creation_template(self, params: Params) -> Params:
        return self._templates("UpdateRepositoryCreationTemplate", params)

    # ---- state from before the one store --------------------------------------------------
    def _import_legacy(self, path: Path) -> None:
        """A lab home from before the one store kept repositories in control.json: adopt them
        once, and drop stored images of repositories that no longer exist."""
        try:
            state = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            state = None
        if state is not None:
            for r in state.get("repositories", []):
                with contextlib.suppress(Exception):
                    self.storage.create_repository(r["name"], {
                        "createdAt": float(r.get("created_at") or self.clock()),
                        "imageTagMutability": r.get("image_tag_mutability") or "MUTABLE",
                        "imageScanningConfiguration": r.get("image_scanning_configuration")
                        or {"scanOnPush": False},
                        "encryptionConfiguration": {"encryptionType": "AES256"},
                        "tags": r.get("tags") or [],
                        **({"policy": r["policy"]} if r.get("policy") else {}),
                        **({"lifecyclePolicy": r["lifecycle_policy"]}
                           if r.get("lifecycle_policy") else {}),
                    })
            path.rename(path.with_suffix(".json.imported"))
        for name in self.storage.repositories():
            if not self.repository_exists(name):
                log.info("dropping stored images of unknown repository %s", name)
                self.storage.delete_repository(name)


def _no_cache_rule(prefix: str, registry_id: str) -> EcrError:
    return EcrError("PullThroughCacheRuleNotFoundException",
                    f"The pull through cache rule with prefix '{prefix}' does not exist in the "
                    f"registry with id '{registry_id}' (the ECR lab has no pull through cache).")


def _json_text(text: str, field: str) -> None:
    try:
        json.loads(text)
    except ValueError:
        raise E.invalid_parameter(f"Invalid parameter at '{field}' failed to satisfy "
                                  f"constraint: 'Invalid JSON syntax'") from None


def snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()



