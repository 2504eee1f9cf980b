"""Checks a request against botocore's ECR model (the service's own contract): required members,
types, lengths, list sizes and enums, answered with ECR's exception names and wording.

botocore's model is the one source of these rules; the lab only adds ECR's stricter name and tag
grammars (the same ones `/v2/` applies, from `registry.names`).
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import cache
from typing import TYPE_CHECKING, Any

from ..registry.names import NAME_MAX, NAME_MIN, NAME_PATTERN, TAG_PATTERN, is_name, is_tag
from .errors import EcrError, constraint, validation
from .model import Operation, Shape, ecr

if TYPE_CHECKING:
    from botocore.model import ServiceModel

NAME_MEMBERS = frozenset({"repositoryName"})
# Model patterns the lab checks: only linear ones.  Some of the model's patterns backtrack
# exponentially in Python's re (ScanningRepositoryFilterValue takes seconds for 20 characters),
# and a request must never be able to hang the lab.
SAFE_PATTERNS = frozenset({"RegistryId", "LayerDigest", "Region", "ReplicationBackfillId",
                           "UploadId", "ImageTagMutabilityExclusionFilterValue", "PrincipalArn",
                           "Base64"})
TAG_MEMBERS = frozenset({"imageTag"})


@cache
def service_model() -> ServiceModel:
    """botocore's own model object (for tests and tools; the lab's checks read `model.ecr()`,
    the same file, without botocore's import cost on the lab's start)."""
    import botocore.session

    return botocore.session.get_session().get_service_model("ecr")


def operation(name: str) -> Operation | None:
    model = ecr()
    return model.operation_model(name) if name in model.operations else None


def check_repository_name(value: Any, field: str = "repositoryName") -> str:
    """ECR's checks of a repository name, in ECR's order and words (InvalidParameterException)."""
    if not isinstance(value, str):
        raise validation(field, None, "Member must not be null")
    if len(value) < NAME_MIN:
        raise constraint(field, f"must have length greater than or equal to {NAME_MIN}")
    if len(value) > NAME_MAX:
        raise constraint(field, f"must have length less than or equal to {NAME_MAX}")
    if not is_name(value):
        raise constraint(field, f"must satisfy regular expression '{NAME_PATTERN}'")
    return value


def check_image_tag(value: str, field: str = "imageTag") -> str:
    """Docker's tag grammar, as `/v2/` checks it: ECR's API and registry agree on what a tag is."""
    if not is_tag(value):
        if len(value) > 128:
            raise constraint(field, "must have length less than or equal to 128")
        raise constraint(field, f"must satisfy regular expression '{TAG_PATTERN}'")
    return value


def check(op: Operation, params: Any) -> None:
    """Raise the EcrError ECR would answer for input that breaks the model."""
    if op.input_shape is None:
        return
    _check(op.input_shape, params, "")


def _check(shape: Shape, value: Any, path: str) -> None:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise validation(path or "request", value, "Member must be a structure")
        for name in shape.required_members:
            if value.get(name) is None:
                raise validation(_join(path, name), None, "Member must not be null")
        for name, member_value in value.items():
            member = shape.members.get(name)
            if member is None or member_value is None:
                continue  # ECR ignores members it does not know
            where = _join(path, name)
            if name in NAME_MEMBERS and member.type_name == "string":
                check_repository_name(member_value, where)
                continue
            if name in TAG_MEMBERS and isinstance(member_value, str):
                check_image_tag(member_value, where)
                continue
            _check(member, member_value, where)
    elif kind == "list":
        if not isinstance(value, list):
            raise validation(path, value, "Member must be a list")
        _length(shape, len(value), path, value)
        for i, item in enumerate(value):
            _check(shape.member, item, f"{path}.{i + 1}.member")
    elif kind == "map":
        if not isinstance(value, dict):
            raise validation(path, value, "Member must be a map")
    elif kind == "string":
        if not isinstance(value, str):
            raise validation(path, value, "Member must be a string")
        _length(shape, len(value), path, value)
        if shape.enum and value not in shape.enum:
            raise validation(path, value, "Member must satisfy enum value set: "
                             f"[{', '.join(shape.enum)}]")
        pattern = shape.metadata.get("pattern") if shape.name in SAFE_PATTERNS else None
        if pattern and len(value) <= 4096 and not _fullmatch(pattern, value):
            raise validation(path, value, f"Member must satisfy regular expression pattern: "
                             f"{pattern}")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise validation(path, value, "Member must be a number")
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and value < low:
            raise validation(path, value, f"Member must have value greater than or equal to {low}")
        if high is not None and value > high:
            raise validation(path, value, f"Member must have value less than or equal to {high}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise validation(path, value, "Member must be a boolean")
    elif kind == "blob":
        if not isinstance(value, str):
            raise validation(path, value, "Member must be base64-encoded bytes")
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise validation(path, "...", "Member must be base64-encoded bytes") from None


def _length(shape: Shape, size: int, path: str, value: Any) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    what = "length" if shape.type_name == "string" else "length"
    if low is not None and size < low:
        raise validation(path, value, f"Member must have {what} greater than or equal to {low}")
    if high is not None and size > high:
        raise validation(path, value, f"Member must have {what} less than or equal to {high}")


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:  # a Java-only construct: the lab's own checks still apply
        return None


def _fullmatch(pattern: str, value: str) -> bool:
    rx = _compiled(pattern)
    return True if rx is None else bool(rx.fullmatch(value))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


__all__ = ["EcrError", "check", "check_image_tag", "check_repository_name", "operation",
           "service_model"]
