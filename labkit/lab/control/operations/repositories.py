"""Repositories: create, describe, delete; their tag mutability, scan-on-push flag, repository
policy and resource tags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..ecr_registry import EcrRegistry, Params, paged
from ..errors import (
    InvalidArn,
    RepositoryAlreadyExists,
    RepositoryNotEmpty,
    RepositoryNotFound,
    RepositoryPolicyNotFound,
)
from ..mutability import check_settings
from ..repository_rules import check_encryption, check_tags


class Repositories:
    def __init__(self, registry: EcrRegistry, repository_policy: Callable[[str], Any]):
        self.reg = registry
        self.check_policy = repository_policy  # the access engine's validator (ECR's messages)

    def describe(self, name: str, record: Params) -> Params:
        """ECR's Repository shape."""
        out = {
            "repositoryArn": self.reg.arn(name), "registryId": self.reg.registry_id,
            "repositoryName": name, "repositoryUri": self.reg.uri(name),
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

    def create_repository(self, params: Params) -> Params:
        name = params["repositoryName"]
        mode = params.get("imageTagMutability") or "MUTABLE"
        filters = check_settings(mode, params.get("imageTagMutabilityExclusionFilters"))
        record: Params = {
            "createdAt": self.reg.clock(), "imageTagMutability": mode,
            "imageScanningConfiguration": {"scanOnPush": bool(
                (params.get("imageScanningConfiguration") or {}).get("scanOnPush"))},
            "encryptionConfiguration": check_encryption(params.get("encryptionConfiguration")),
            "tags": check_tags(params.get("tags") or []),
        }
        if filters:
            record["imageTagMutabilityExclusionFilters"] = filters
        if not self.reg.store.create_repository(name, record):
            raise RepositoryAlreadyExists(name, self.reg.registry_id)
        return {"repository": self.describe(name, record)}

    def describe_repositories(self, params: Params) -> Params:
        names = params.get("repositoryNames")
        if names:
            found = []
            for name in names:
                record = self.reg.store.repository_record(name)
                if record is None:
                    raise RepositoryNotFound(name, self.reg.registry_id)
                found.append(self.describe(name, record))
            return {"repositories": found}
        repos = [self.describe(n, self.reg.store.repository_record(n) or {})
                 for n in self.reg.names()]
        return paged("repositories", repos, params)

    def delete_repository(self, params: Params) -> Params:
        name, record = self.reg.record(params)
        if self.reg.store.manifest_digests(name) and not params.get("force"):
            raise RepositoryNotEmpty(name, self.reg.registry_id)
        out = self.describe(name, record)
        self.reg.store.delete_repository(name)
        return {"repository": out}

    def put_image_tag_mutability(self, params: Params) -> Params:
        name, _ = self.reg.record(params)
        mode = params["imageTagMutability"]
        filters = check_settings(mode, params.get("imageTagMutabilityExclusionFilters"))
        self.reg.store.update_repository(name, {
            "imageTagMutability": mode, "imageTagMutabilityExclusionFilters": filters or None})
        out: Params = {"registryId": self.reg.registry_id, "repositoryName": name,
                       "imageTagMutability": mode}
        if filters:
            out["imageTagMutabilityExclusionFilters"] = filters
        return out

    def put_image_scanning_configuration(self, params: Params) -> Params:
        name, _ = self.reg.record(params)
        config = {"scanOnPush": bool(params["imageScanningConfiguration"].get("scanOnPush"))}
        self.reg.store.update_repository(name, {"imageScanningConfiguration": config})
        return {"registryId": self.reg.registry_id, "repositoryName": name,
                "imageScanningConfiguration": config}

    # ---- the repository policy ----
    def set_repository_policy(self, params: Params) -> Params:
        name, _ = self.reg.record(params)
        text = params["policyText"]
        self.check_policy(text)
        self.reg.store.update_repository(name, {"policy": text})
        return {"registryId": self.reg.registry_id, "repositoryName": name, "policyText": text}

    def get_repository_policy(self, params: Params) -> Params:
        name, record = self.reg.record(params)
        if not record.get("policy"):
            raise RepositoryPolicyNotFound(name, self.reg.registry_id)
        return {"registryId": self.reg.registry_id, "repositoryName": name,
                "policyText": record["policy"]}

    def delete_repository_policy(self, params: Params) -> Params:
        out = self.get_repository_policy(params)
        self.reg.store.update_repository(out["repositoryName"], {"policy": None})
        return out

    # ---- resource tags ----
    def _resource(self, arn: str) -> tuple[str, Params]:
        prefix = f"arn:aws:ecr:{self.reg.region}:{self.reg.registry_id}:repository/"
        if not arn.startswith(prefix):
            raise InvalidArn()
        name = arn[len(prefix):]
        record = self.reg.store.repository_record(name)
        if record is None:
            raise RepositoryNotFound(name, self.reg.registry_id)
        return name, record

    def list_tags_for_resource(self, params: Params) -> Params:
        _, record = self._resource(params["resourceArn"])
        return {"tags": record.get("tags", [])}

    def tag_resource(self, params: Params) -> Params:
        name, record = self._resource(params["resourceArn"])
        current = {t["Key"]: t for t in record.get("tags", [])}
        current.update({t["Key"]: t for t in check_tags(params["tags"])})
        self.reg.store.update_repository(name, {"tags": check_tags(list(current.values()))})
        return {}

    def untag_resource(self, params: Params) -> Params:
        name, record = self._resource(params["resourceArn"])
        drop = set(params["tagKeys"])
        self.reg.store.update_repository(name, {
            "tags": [t for t in record.get("tags", []) if t["Key"] not in drop]})
        return {}
