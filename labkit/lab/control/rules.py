"""Where moto's ECR differs from the real one, put ECR's behaviour back (in the lab process only).

Each patch names the ECR behaviour it restores, so a moto upgrade that fixes one can drop it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from moto.core.exceptions import ServiceException
from moto.ecr import models as ecr_models

NAME_PATTERN = r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"
NAME_MIN, NAME_MAX = 2, 256


class EcrError(ServiceException):
    """An ECR API error with ECR's exception name and message (moto serializes it as ECR would)."""

    def __init__(self, code: str, message: str):
        super().__init__(code, message)


def repository_not_found(name: str, registry_id: str) -> EcrError:
    return EcrError("RepositoryNotFoundException",
                    f"The repository with name '{name}' does not exist in the registry "
                    f"with id '{registry_id}'")


def image_tag_already_exists(name: str, tag: str) -> EcrError:
    return EcrError("ImageTagAlreadyExistsException",
                    f"The image tag '{tag}' already exists in the '{name}' repository and "
                    "cannot be overwritten because the repository is immutable.")


def check_repository_name(name: Any, field: str = "repositoryName") -> None:
    """CreateRepository's checks, in ECR's order: length first (ValidationException), then pattern."""
    if not isinstance(name, str):
        raise EcrError("ValidationException",
                       f"1 validation error detected: Value at '{field}' failed to satisfy "
                       "constraint: Member must not be null")
    if len(name) < NAME_MIN:
        raise EcrError("ValidationException",
                       f"1 validation error detected: Value '{name}' at '{field}' failed to "
                       f"satisfy constraint: Member must have length greater than or equal to "
                       f"{NAME_MIN}")
    if len(name) > NAME_MAX:
        raise EcrError("ValidationException",
                       f"1 validation error detected: Value '{name}' at '{field}' failed to "
                       f"satisfy constraint: Member must have length less than or equal to "
                       f"{NAME_MAX}")
    if not re.fullmatch(NAME_PATTERN, name):
        raise EcrError("InvalidParameterException",
                       f"Invalid parameter at '{field}' failed to satisfy constraint: 'must "
                       f"satisfy regular expression '{NAME_PATTERN}''")


_installed: dict[str, Any] = {}


def install(registry_host: Callable[[], str]) -> None:
    """Patch moto's ECR models. `registry_host()` gives `127.0.0.1:PORT` for repositoryUri."""
    if _installed:
        _installed["registry_host"] = registry_host
        return
    _installed["registry_host"] = registry_host
    repo_init = ecr_models.Repository.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        # ECR: repositoryUri names the registry that serves the repository (here, the lab).
        repo_init(self, *args, **kwargs)
        self.uri = f"{_installed['registry_host']()}/{self.name}"

    ecr_models.Repository.__init__ = init  # type: ignore[method-assign]

    def image_size(self: Any) -> int | None:
        # ECR: imageSizeInBytes is the sum of the layer sizes (moto returns the config size).
        try:
            doc = json.loads(self.image_manifest)
        except ValueError:
            return None
        if "layers" in doc:
            return sum(int(layer.get("size", 0)) for layer in doc["layers"])
        return None

    ecr_models.Image.get_image_size_in_bytes = image_size  # type: ignore[method-assign]

    backend_cls = ecr_models.ECRBackend
    put_image = backend_cls.put_image

    def put_image_checked(self: Any, repository_name: str, image_manifest: str,
                          image_tag: str, image_manifest_mediatype: str | None = None,
                          digest: str | None = None) -> Any:
        # ECR: PutImage on a missing repository is RepositoryNotFoundException (moto: a bare 500),
        # and an existing tag in an IMMUTABLE repository is ImageTagAlreadyExistsException.
        repo = self.repositories.get(repository_name)
        if repo is None:
            raise repository_not_found(repository_name, self.account_id)
        if image_tag and repo.is_tag_immutable():
            for img in repo.images:
                if image_tag in img.image_tags and img.image_manifest != image_manifest:
                    raise image_tag_already_exists(repository_name, image_tag)
        # ECR: imageDigest is the sha256 of the manifest bytes (moto hashes the layer list).
        digest = digest or "sha256:" + hashlib.sha256(image_manifest.encode()).hexdigest()
        return put_image(self, repository_name, image_manifest, image_tag,
                         image_manifest_mediatype, digest)

    backend_cls.put_image = put_image_checked  # type: ignore[method-assign]
