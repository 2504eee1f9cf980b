"""One ECR registry: one account's registry in one region, with everything it holds.

Its store (repositories, images, tags, layers: `registry.storage.Storage`, shared with `/v2/`),
its registry-wide settings, its repository creation templates, the scans it ran, and how it
names itself (registry id, region, the host in repository URIs).  Nothing is module-global, so a
lab with several accounts and regions opens one `EcrRegistry` per (account, region), each under
its own directory (`RegistryFiles.under(...)`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...oci import digest as dg
from ..registry.names import is_tag
from ..registry.storage import Storage, StoredImage
from .errors import ImageNotFound, InvalidParameter, RepositoryNotFound
from .settings import RegistrySettings
from .templates import TemplateStore

Params = dict[str, Any]
PAGE = 100


@dataclass(frozen=True)
class RegistryFiles:
    """Where one registry keeps its state."""

    store: Path  # blobs, uploads, repositories (the registry's store)
    settings: Path  # registry-wide settings (registry policy, scanning, account settings...)
    templates: Path  # repository creation templates
    legacy: Path  # control.json of a lab from before the one store (adopted once)

    @classmethod
    def in_home(cls, home: Path) -> RegistryFiles:
        """The lab's one registry, laid out as labs have always kept it under LABKIT_HOME."""
        return cls(home / "registry", home / "registry-settings.json", home / "templates.json",
                   home / "control.json")

    @classmethod
    def under(cls, directory: Path) -> RegistryFiles:
        """A registry of its own under `directory` (one per account and region)."""
        return cls(directory / "store", directory / "settings.json",
                   directory / "templates.json", directory / "control.json")


@dataclass
class EcrRegistry:
    store: Storage
    settings: RegistrySettings
    templates: TemplateStore
    registry_id: str
    region: str
    host: Callable[[], str]  # what repository URIs and the proxy endpoint name
    clock: Callable[[], float] = time.time
    scans: dict[tuple[str, str], Params] = field(default_factory=dict)  # last scan per image

    @classmethod
    def open(cls, files: RegistryFiles, registry_id: str, region: str, host: Callable[[], str],
             clock: Callable[[], float] = time.time) -> EcrRegistry:
        return cls(Storage(files.store), RegistrySettings(files.settings),
                   TemplateStore(files.templates, clock), registry_id, region, host, clock)

    # ---- names ----
    def arn(self, name: str) -> str:
        return f"arn:aws:ecr:{self.region}:{self.registry_id}:repository/{name}"

    def uri(self, name: str) -> str:
        return f"{self.host()}/{name}"

    # ---- repositories ----
    def record(self, params: Params) -> tuple[str, Params]:
        """The repository a request names, and its record; RepositoryNotFound otherwise."""
        name = params["repositoryName"]
        registry = params.get("registryId")
        if registry and registry != self.registry_id:
            raise RepositoryNotFound(name, registry)
        record = self.store.repository_record(name)
        if record is None:
            raise RepositoryNotFound(name, self.registry_id)
        return name, record

    def exists(self, name: str) -> bool:
        return self.store.has_repository(name)

    def names(self) -> list[str]:
        return [n for n in self.store.repositories() if self.exists(n)]

    # ---- images ----
    def find(self, name: str, image_id: Params) -> StoredImage | None:
        """The image an ImageIdentifier names (a digest must be well formed: the caller has
        checked), None if there is none or the tag names another image."""
        digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
        if digest and not dg.is_digest(digest):
            return None  # not a sha256 digest (ECR's pattern allows others): nothing stored
        if tag and not is_tag(tag):
            return None  # a tag the lab never stores
        reference = digest or tag
        if not reference:
            return None
        image = self.store.get_manifest(name, reference)
        if image is None or (digest and tag and tag not in image.tags):
            return None
        return image

    def image(self, params: Params) -> tuple[str, StoredImage]:
        """The repository and the image a request's `imageId` names; ImageNotFound otherwise."""
        name, _ = self.record(params)
        image = self.find(name, params["imageId"])
        if image is None:
            raise ImageNotFound(params["imageId"], name, self.registry_id)
        return name, image


def first_tag(image: StoredImage) -> Params:
    return {"imageTag": image.tags[0]} if image.tags else {}


def paged(key: str, items: list[Any], params: Params, limit: int = PAGE) -> Params:
    """ECR's maxResults/nextToken: the token is the offset of the next page."""
    start = 0
    token = params.get("nextToken")
    if token:
        try:
            start = int(token)
        except ValueError:
            raise InvalidParameter.unspecified() from None
        if start < 0:
            raise InvalidParameter.unspecified()
    size = int(params.get("maxResults") or limit)
    out: Params = {key: items[start:start + size]}
    if start + size < len(items):
        out["nextToken"] = str(start + size)
    return out


__all__ = ["EcrRegistry", "Params", "RegistryFiles", "first_tag", "paged"]
