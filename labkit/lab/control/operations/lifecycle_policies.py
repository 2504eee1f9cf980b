"""Lifecycle policies: put, get, delete and preview them (ECR's operations), and what the lab's
lifecycle runner reads and does (`lifecycle_runner.LifecycleBackend`): an expiry is a
BatchDeleteImage through the ECR API's one dispatch, exactly a deletion a client could make."""

from __future__ import annotations

from collections.abc import Callable

from .. import images as img
from .. import lifecycle
from ..ecr_registry import EcrRegistry, Params
from ..errors import LifecyclePolicyNotFound, LifecyclePolicyPreviewNotFound

Call = Callable[[str, Params], Params]
BATCH = 100  # BatchDeleteImage's limit of image ids per call


class LifecyclePolicies:
    def __init__(self, registry: EcrRegistry, call: Call):
        self.reg = registry
        self.call = call
        self._previews: dict[str, Params] = {}

    def put_lifecycle_policy(self, params: Params) -> Params:
        name, _ = self.reg.record(params)
        text = params["lifecyclePolicyText"]
        lifecycle.validate(text)
        self.reg.store.update_repository(name, {"lifecyclePolicy": text})
        return {"registryId": self.reg.registry_id, "repositoryName": name,
                "lifecyclePolicyText": text}

    def _policy(self, name: str, record: Params) -> str:
        text = record.get("lifecyclePolicy")
        if not text:
            raise LifecyclePolicyNotFound(name, self.reg.registry_id)
        return text

    def get_lifecycle_policy(self, params: Params) -> Params:
        name, record = self.reg.record(params)
        return {"registryId": self.reg.registry_id, "repositoryName": name,
                "lifecyclePolicyText": self._policy(name, record),
                "lastEvaluatedAt": record.get("lifecycleEvaluatedAt", record.get("createdAt"))}

    def delete_lifecycle_policy(self, params: Params) -> Params:
        out = self.get_lifecycle_policy(params)
        self.reg.store.update_repository(out["repositoryName"], {"lifecyclePolicy": None})
        return out

    def start_lifecycle_policy_preview(self, params: Params) -> Params:
        name, record = self.reg.record(params)
        text = params.get("lifecyclePolicyText") or self._policy(name, record)
        verdicts = lifecycle.evaluate(text, self.images_for_lifecycle(name), self.reg.clock())
        self._previews[name] = {"text": text, "verdicts": verdicts}
        return {"registryId": self.reg.registry_id, "repositoryName": name,
                "lifecyclePolicyText": text, "status": "IN_PROGRESS"}

    def get_lifecycle_policy_preview(self, params: Params) -> Params:
        name, _ = self.reg.record(params)
        preview = self._previews.get(name)
        if preview is None:
            raise LifecyclePolicyPreviewNotFound()
        facts = self.images_for_lifecycle(name)
        return {"registryId": self.reg.registry_id, "repositoryName": name,
                "lifecyclePolicyText": preview["text"], "status": "COMPLETE",
                **lifecycle.preview_results(preview["verdicts"], facts)}

    # ---- what the lifecycle runner reads and does -------------------------------------------
    def lifecycle_policies(self) -> dict[str, str]:
        """Repository name -> its lifecycle policy text (repositories with one only)."""
        found = {}
        for name in self.reg.names():
            text = (self.reg.store.repository_record(name) or {}).get("lifecyclePolicy")
            if text:
                found[name] = text
        return found

    def images_for_lifecycle(self, repository: str) -> list[lifecycle.ImageFacts]:
        """The repository's images as the evaluator sees them, each with the indexes that list
        it (such an image is counted, never expired before its index)."""
        images = self.reg.store.images(repository)
        parents = img.referenced_by(images)
        return [lifecycle.ImageFacts(digest=i.digest, tags=list(i.tags), pushed_at=i.pushed_at,
                                     size=img.image_size(self.reg.store, i),
                                     referenced_by=parents.get(i.digest, []))
                for i in images]

    def expire_images(self, repository: str, digests: list[str]) -> None:
        for i in range(0, len(digests), BATCH):
            self.call("BatchDeleteImage", {
                "repositoryName": repository,
                "imageIds": [{"imageDigest": d} for d in digests[i:i + BATCH]]})
