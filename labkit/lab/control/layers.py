"""ECR's layer API (InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload,
BatchCheckLayerAvailability, GetDownloadUrlForLayer) on the registry's own store: a layer sent
through the API is a blob `/v2/` serves, and a blob pushed over `/v2/` is a layer the API sees.

ECR's rules: parts arrive in order (partFirstByte is where the upload stands), a part is at most
20 MiB (the partSize InitiateLayerUpload announces) and every part but the last at least 5 MiB,
the digest is checked, an empty upload and a layer the repository already has are refused.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from typing import Any

from ..registry import errors as registry_errors
from ..registry.presign import Presigner
from ..registry.storage import Storage
from .errors import EcrError

PART_SIZE = 20 * 1024 * 1024  # what InitiateLayerUpload announces; the largest part ECR takes
MIN_PART = 5 * 1024 * 1024  # every part but the last


class LayerApi:
    def __init__(self, storage: Storage, registry_id: str, presigner: Presigner,
                 base_url: Callable[[], str]):
        self.storage = storage
        self.registry_id = registry_id
        self.presigner = presigner
        self.base_url = base_url
        self._parts: dict[str, list[int]] = {}  # upload id -> sizes of the parts received
        self._lock = threading.Lock()

    def _upload_not_found(self, name: str, upload_id: str) -> EcrError:
        return EcrError("UploadNotFoundException",
                        f"Upload with id '{upload_id}' is not found in the repository with name "
                        f"'{name}' in the registry with id '{self.registry_id}'")

    def initiate(self, name: str) -> dict[str, Any]:
        upload_id = self.storage.start_upload(name)
        with self._lock:
            self._parts[upload_id] = []
        return {"uploadId": upload_id, "partSize": PART_SIZE}

    def upload_part(self, name: str, upload_id: str, first: int, last: int,
                    blob_b64: str) -> dict[str, Any]:
        try:
            offset = self.storage.upload_offset(name, upload_id)
        except registry_errors.RegistryError:
            raise self._upload_not_found(name, upload_id) from None
        data = base64.b64decode(blob_b64)

        def invalid(why: str) -> EcrError:
            return EcrError("InvalidLayerPartException", why, registryId=self.registry_id,
                            repositoryName=name, uploadId=upload_id,
                            lastValidByteReceived=max(offset - 1, 0))

        if first != offset:
            raise invalid(f"The part's first byte {first} is not consecutive to the last byte "
                          f"received ({offset - 1}); the next part must start at {offset}.")
        if last - first + 1 != len(data):
            raise invalid(f"partFirstByte {first} to partLastByte {last} is {last - first + 1} "
                          f"bytes but the part holds {len(data)} bytes.")
        if len(data) > PART_SIZE:
            raise invalid(f"The layer part is {len(data)} bytes; a part may be at most "
                          f"{PART_SIZE} bytes.")
        if not data:
            raise invalid("The layer part is empty.")
        try:
            self.storage.append_upload(name, upload_id, [data], first)
        except registry_errors.BlobUploadUnknown:
            raise self._upload_not_found(name, upload_id) from None
        with self._lock:
            self._parts.setdefault(upload_id, []).append(len(data))
        return {"registryId": self.registry_id, "repositoryName": name, "uploadId": upload_id,
                "lastByteReceived": last}

    def complete(self, name: str, upload_id: str, digests: list[str]) -> dict[str, Any]:
        try:
            size = self.storage.upload_offset(name, upload_id)
        except registry_errors.RegistryError:
            raise self._upload_not_found(name, upload_id) from None
        if size == 0:
            raise EcrError("EmptyUploadException",
                           f"The upload with id '{upload_id}' does not contain any layer parts.")
        with self._lock:
            parts = list(self._parts.get(upload_id, []))
        if any(p < MIN_PART for p in parts[:-1]):
            raise EcrError("LayerPartTooSmallException", "Layer parts must be at least 5 MiB "
                           "in size (every part but the last).")
        digest = digests[0]
        try:
            exists = self.storage.repo_blob_size(name, digest) is not None
        except registry_errors.RegistryError:
            raise EcrError("InvalidLayerException", f"Invalid layer digest '{digest}'.") from None
        if exists:
            self._forget(name, upload_id)
            raise EcrError("LayerAlreadyExistsException",
                           f"Layer with digest '{digest}' already exists in the repository with "
                           f"name '{name}' in the registry with id '{self.registry_id}'")
        try:
            self.storage.finish_upload(name, upload_id, digest)
        except registry_errors.DigestInvalid as e:
            actual = (e.detail or {}).get("actual", "unknown") if isinstance(e.detail, dict) else ""
            raise EcrError("InvalidLayerException",
                           f"The layer digest calculation performed by Amazon ECR upon receipt "
                           f"of the image layer does not match the digest specified: "
                           f"'{digest}' was given, the upload is '{actual}'.") from None
        finally:
            with self._lock:
                self._parts.pop(upload_id, None)
        return {"registryId": self.registry_id, "repositoryName": name, "uploadId": upload_id,
                "layerDigest": digest}

    def _forget(self, name: str, upload_id: str) -> None:
        try:
            self.storage.cancel_upload(name, upload_id)
        except registry_errors.RegistryError:
            pass
        with self._lock:
            self._parts.pop(upload_id, None)

    def check(self, name: str, digests: list[str]) -> dict[str, Any]:
        layers, failures = [], []
        for digest in digests:
            try:
                size = self.storage.repo_blob_size(name, digest)
            except registry_errors.RegistryError:
                failures.append({"layerDigest": digest, "failureCode": "InvalidLayerDigest",
                                 "failureReason": "Invalid layer digest"})
                continue
            if size is None:
                failures.append({"layerDigest": digest, "failureCode": "MissingLayerDigest",
                                 "failureReason": "Could not find layer"})
            else:
                layers.append({"layerDigest": digest, "layerAvailability": "AVAILABLE",
                               "layerSize": size})
        return {"layers": layers, "failures": failures}

    def download_url(self, name: str, digest: str) -> dict[str, Any]:
        try:
            size = self.storage.repo_blob_size(name, digest)
        except registry_errors.RegistryError:
            size = None
        if size is None:
            raise EcrError("LayersNotFoundException",
                           f"The specified layers could not be found: '{digest}' is not a layer of "
                           f"the repository with name '{name}' in the registry with id "
                           f"'{self.registry_id}'")
        url = self.presigner.url(self.base_url(), digest.split(":", 1)[1])
        return {"downloadUrl": url, "layerDigest": digest}
