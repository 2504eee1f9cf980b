"""The IAM permissions the course really uses, derived from what the lab saw during a run.

00-setup lists them for learners who switch to real AWS. The list is not written from memory:
a test runs the whole course (with every exercise's solution) and derives the ECR actions from
the lab's record of the AWS API operations it answered (X-Amz-Target) and of the registry
requests docker made (the lab records the ECR action that authorizes each on AWS).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from ...trace.record import TraceRecord

# AWS authorizes some calls with a second action: the kit's CreateRepository carries the
# course's resource tag (labkit:course=true), and creating with tags needs ecr:TagResource too.
_IMPLIED = {"CreateRepository": ("TagResource",)}
_BLOCK = re.compile(r"<!-- iam-permissions -->\s*```json\s*(?P<doc>.*?)```\s*<!-- /iam-permissions -->",
                    re.S)


def used(operations: Iterable[str], trace: Iterable[TraceRecord]) -> list[str]:
    """`ecr:Action` for every ECR API operation answered and registry request made (the lab
    records the ECR action each request is: labkit.lab.access.actions)."""
    actions = set(operations)
    actions.update(r.action for r in trace if r.action)
    for op in list(actions):
        actions.update(_IMPLIED.get(op, ()))
    return sorted(f"ecr:{a}" for a in actions)


def documented(markdown: str) -> list[str]:
    """The actions of the policy that 00-setup shows (between its iam-permissions markers)."""
    m = _BLOCK.search(markdown)
    if m is None:
        raise ValueError("no <!-- iam-permissions --> policy block in this text")
    doc = json.loads(m.group("doc"))
    return sorted(a for st in doc["Statement"] for a in st["Action"])
