"""The lifecycle runner's backend, spoken through the lab's own ECR API (in-process):
DescribeRepositories/GetLifecyclePolicy for the policies, DescribeImages for the images,
BatchDeleteImage to expire.  Whatever stores repositories behind the API, the runner sees
what a client sees, and an expiry is exactly a deletion a client could have made."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .inprocess import ApiCallError, Caller
from .lifecycle import ImageFacts

BATCH = 100  # BatchDeleteImage's limit of image ids per call


def _epoch(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return 0.0


class ApiLifecycleBackend:
    """LifecycleBackend over an ECR API caller (see create_on_push.wsgi_caller)."""

    def __init__(self, call: Caller):
        self.call = call

    def _pages(self, action: str, params: dict[str, Any], key: str) -> list[dict[str, Any]]:
        out, token = [], None
        while True:
            doc = self.call(action, {**params, **({"nextToken": token} if token else {})})
            out.extend(doc.get(key, []))
            token = doc.get("nextToken")
            if not token:
                return out

    def lifecycle_policies(self) -> dict[str, str]:
        policies = {}
        for repo in self._pages("DescribeRepositories", {}, "repositories"):
            name = repo["repositoryName"]
            try:
                doc = self.call("GetLifecyclePolicy", {"repositoryName": name})
            except ApiCallError as e:
                if e.code in ("LifecyclePolicyNotFoundException", "RepositoryNotFoundException"):
                    continue
                raise
            if doc.get("lifecyclePolicyText"):
                policies[name] = doc["lifecyclePolicyText"]
        return policies

    def images_for_lifecycle(self, repository: str) -> list[ImageFacts]:
        details = self._pages("DescribeImages", {"repositoryName": repository}, "imageDetails")
        return [ImageFacts(d["imageDigest"], list(d.get("imageTags") or []),
                           _epoch(d.get("imagePushedAt")), int(d.get("imageSizeInBytes") or 0))
                for d in details]

    def expire_images(self, repository: str, digests: list[str]) -> None:
        for i in range(0, len(digests), BATCH):
            self.call("BatchDeleteImage", {
                "repositoryName": repository,
                "imageIds": [{"imageDigest": d} for d in digests[i:i + BATCH]]})
