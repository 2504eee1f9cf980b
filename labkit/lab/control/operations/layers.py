"""ECR's layer API (InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload,
BatchCheckLayerAvailability, GetDownloadUrlForLayer) on the registry's own store: a layer sent
through the API is a blob `/v2/` serves, and a blob pushed over `/v2/` is a layer the API sees.

ECR's rules: parts arrive in order (partFirstByte is where the upload stands), a part is at most
20 MiB (the partSize InitiateLayerUpload announces) and every part but the last at least 5 MiB,
the digest is checked, an empty upload and a layer the repository already has are refused, and
a download URL is given only for a layer an image of the repository uses.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable

from ....oci.manifest import ManifestError
from ....oci.manifest import parse as parse_manifest
from ...registry import errors as registry_errors
from ...registry.presign import Presigner
from ..ecr_registry import EcrRegistry, Params
from ..errors import (
    EmptyUpload,
    InvalidLayer,
    InvalidLayerPart,
    LayerAlreadyExists,
    LayerInaccessible,
    LayerPartTooSmall,
    LayersNotFound,
    UploadNotFound,
)

PART_SIZE = 20 * 1024 * 1024  # what InitiateLayerUpload announces; the largest part ECR takes
MIN_PART = 5 * 1024 * 1024  # every part but the last


class Layers:
    def __init__(self, registry: EcrRegistry, presigner: Presigner, base_url: Callable[[], str]):
        self.reg = registry
        self.presigner = presigner
        self.base_url = base_url
        self._parts: dict[str, list[int]] = {}  # upload id -> sizes of the parts received
        self._lock = threading.Lock()

    def initiate_layer_upload(self, params: Params) -> Params:
        name, _ = self.reg.record(params)
        upload_id = self.reg.store.start_upload(name)
        with self._lock:
            self._parts[upload_id] = []
        return {"uploadId": upload_id, "partSize": PART_SIZE}

    def _offset(self, name: str, upload_id: str) -> int:
        try:
            return self.reg.store.upload_offset(name, upload_id)
        except registry_errors.RegistryError:
            raise UploadNotFound() from None

    def upload_layer_part(self, params: Params) -> Params:
        name, _ = self.reg.record(params)
        upload_id = params["uploadId"]
        first, last = params["partFirstByte"], params["partLastByte"]
        offset = self._offset(name, upload_id)
        data = base64.b64decode(params["layerPartBlob"])
        where = {"registryId": self.reg.registry_id, "repositoryName": name,
                 "uploadId": upload_id, "lastValidByteReceived": max(offset - 1, 0)}
        if first != offset:
            raise InvalidLayerPart.out_of_order(first, offset, **where)
        if last - first + 1 != len(data) or len(data) > PART_SIZE or not data:
            raise InvalidLayerPart.size(**where)
        try:
            self.reg.store.append_upload(name, upload_id, [data], first)
        except registry_errors.BlobUploadUnknown:
            raise UploadNotFound() from None
        with self._lock:
            self._parts.setdefault(upload_id, []).append(len(data))
        return {"registryId": self.reg.registry_id, "repositoryName": name,
                "uploadId": upload_id, "lastByteReceived": last}

    def complete_layer_upload(self, params: Params) -> Params:
        name, _ = self.reg.record(params)
        upload_id, digest = params["uploadId"], params["layerDigests"][0]
        if self._offset(name, upload_id) == 0:
            raise EmptyUpload()
        with self._lock:
            parts = list(self._parts.get(upload_id, []))
        if any(p < MIN_PART for p in parts[:-1]):
            raise LayerPartTooSmall()
        try:
            exists = self.reg.store.repo_blob_size(name, digest) is not None
        except registry_errors.DigestInvalid:  # well formed for ECR, but not a sha256 digest
            raise InvalidLayer() from None
        if exists:
            self._forget(name, upload_id)
            raise LayerAlreadyExists()
        try:
            self.reg.store.finish_upload(name, upload_id, digest)
        except registry_errors.UploadDigestMismatch:
            raise InvalidLayer() from None
        finally:
            with self._lock:
                self._parts.pop(upload_id, None)
        return {"registryId": self.reg.registry_id, "repositoryName": name,
                "uploadId": upload_id, "layerDigest": digest}

    def _forget(self, name: str, upload_id: str) -> None:
        try:
            self.reg.store.cancel_upload(name, upload_id)
        except registry_errors.BlobUploadUnknown:
            pass  # already gone
        with self._lock:
            self._parts.pop(upload_id, None)

    def batch_check_layer_availability(self, params: Params) -> Params:
        name, _ = self.reg.record(params)
        layers, failures = [], []
        for digest in params["layerDigests"]:
            try:
                size = self.reg.store.repo_blob_size(name, digest)
            except registry_errors.DigestInvalid:
                failures.append({"layerDigest": digest, "failureCode": "InvalidLayerDigest",
                                 "failureReason": "The ECR lab: the layer digest is not a "
                                                  "sha256 digest."})
                continue
            if size is None:
                failures.append({"layerDigest": digest, "failureCode": "MissingLayerDigest",
                                 "failureReason": "The ECR lab: the repository holds no layer "
                                                  "with this digest."})
            else:
                layers.append({"layerDigest": digest, "layerAvailability": "AVAILABLE",
                               "layerSize": size})
        return {"layers": layers, "failures": failures}

    def get_download_url_for_layer(self, params: Params) -> Params:
        name, _ = self.reg.record(params)
        digest = params["layerDigest"]
        try:
            size = self.reg.store.repo_blob_size(name, digest)
        except registry_errors.DigestInvalid:
            size = None
        if size is None:
            raise LayersNotFound.for_download(digest, name, self.reg.registry_id)
        if digest not in self._used(name):
            raise LayerInaccessible()
        url = self.presigner.url(self.base_url(), digest.split(":", 1)[1])
        return {"downloadUrl": url, "layerDigest": digest}

    def _used(self, name: str) -> set[str]:
        """Every blob an image of the repository uses: its manifests, configs and layers."""
        used: set[str] = set()
        for image in self.reg.store.images(name):
            used.add(image.digest)
            try:
                used.update(d.digest for d in parse_manifest(image.raw,
                                                             image.media_type).references())
            except (ManifestError, RecursionError):
                continue  # an unreadable manifest vouches for nothing
        return used
