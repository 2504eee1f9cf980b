"""The IAM permissions the course really uses, derived from what the lab saw during a run.

00-setup lists them for learners who switch to real AWS. The list is not written from memory:
a test runs the whole course (with every exercise's solution) and derives the ECR actions from
the lab's record of the AWS API operations it answered (X-Amz-Target) and of the registry
requests docker made (each maps to the ECR action that authorizes it on AWS).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

# registry request -> the ECR action that authorizes it on AWS
_REGISTRY_ACTIONS = (
    ("HEAD", re.compile(r"^/v2/.+/blobs/sha256:[0-9a-f]+$"), "BatchCheckLayerAvailability"),
    ("GET", re.compile(r"^/v2/.+/blobs/sha256:[0-9a-f]+$"), "GetDownloadUrlForLayer"),
    ("POST", re.compile(r"^/v2/.+/blobs/uploads/?$"), "InitiateLayerUpload"),
    ("PATCH", re.compile(r"^/v2/.+/blobs/uploads/.+$"), "UploadLayerPart"),
    ("PUT", re.compile(r"^/v2/.+/blobs/uploads/.+$"), "CompleteLayerUpload"),
    ("PUT", re.compile(r"^/v2/.+/manifests/.+$"), "PutImage"),
    ("GET", re.compile(r"^/v2/.+/manifests/.+$"), "BatchGetImage"),
    ("HEAD", re.compile(r"^/v2/.+/manifests/.+$"), "BatchGetImage"),
    ("DELETE", re.compile(r"^/v2/.+/manifests/.+$"), "BatchDeleteImage"),
    ("GET", re.compile(r"^/v2/.+/tags/list$"), "ListImages"),
)
# AWS authorizes some calls with a second action: the kit's CreateRepository carries the
# course's resource tag (labkit:course=true), and creating with tags needs ecr:TagResource too.
_IMPLIED = {"CreateRepository": ("TagResource",)}
_BLOCK = re.compile(r"<!-- iam-permissions -->\s*```json\s*(?P<doc>.*?)```\s*<!-- /iam-permissions -->",
                    re.S)


def registry_action(method: str, path: str) -> str | None:
    for m, pattern, action in _REGISTRY_ACTIONS:
        if method == m and pattern.match(path):
            return action
    return None


def used(operations: Iterable[str], trace: Iterable[dict[str, Any]]) -> list[str]:
    """`ecr:Action` for every ECR API operation answered and registry request made."""
    actions = set(operations)
    for op in list(actions):
        actions.update(_IMPLIED.get(op, ()))
    for r in trace:
        action = registry_action(str(r.get("method", "")), str(r.get("path", "")))
        if action:
            actions.add(action)
    return sorted(f"ecr:{a}" for a in actions)


def documented(markdown: str) -> list[str]:
    """The actions of the policy that 00-setup shows (between its iam-permissions markers)."""
    m = _BLOCK.search(markdown)
    if m is None:
        raise ValueError("no <!-- iam-permissions --> policy block in this text")
    doc = json.loads(m.group("doc"))
    return sorted(a for st in doc["Statement"] for a in st["Action"])
