"""Checks a request against botocore's ECR model (the service's own contract): required members,
types, lengths, list sizes and enums, answered as ECR answers them: InvalidParameterException
"Invalid parameter at '<member>' failed to satisfy constraint: '<rule>'", naming the request's
top-level member, with "Member must satisfy constraint: [...]" around the rule once per list it
is inside (fujiwara/ecrm#3, aws/aws-cli#5317 and ecr_messages.json's api.invalid-parameter.*).

botocore's model is the one source of these rules; the lab only adds ECR's own checks of names,
image digests and tags (the same grammars `/v2/` applies, from `registry.names`).
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import cache
from typing import TYPE_CHECKING, Any

from ..registry.errors import TAG_REFUSED
from ..registry.names import NAME_MAX, NAME_MIN, is_name, is_tag
from .errors import InvalidParameter
from .model import Operation, Shape, ecr

if TYPE_CHECKING:
    from botocore.model import ServiceModel

NAME_MEMBERS = frozenset({"repositoryName"})
TAG_MEMBERS = frozenset({"imageTag"})
DIGEST_MEMBERS = frozenset({"imageDigest"})
# ECR's own pattern for a repository name as its message quotes it (jenkins-x/jx#1344 ...),
# which differs from the model's (ecr-messages.md, "Disagreements" 6); the lab checks the model's.
NAME_REGEX_SAID = "(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"
# An image digest as ECR checks it (pulumi/pulumi-aws#2466; the model's LayerDigest pattern).
DIGEST_PATTERN = "[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+"
DIGEST_RE = re.compile(DIGEST_PATTERN)
# Operations that answer a malformed image digest per image (failure code InvalidImageDigest)
# instead of refusing the whole request.
PER_IMAGE_FAILURES = frozenset({"BatchGetImage", "BatchDeleteImage"})
# Model patterns the lab checks: only linear ones.  Some of the model's patterns backtrack
# exponentially in Python's re (ScanningRepositoryFilterValue takes seconds for 20 characters),
# and a request must never be able to hang the lab.
SAFE_PATTERNS = frozenset({"RegistryId", "LayerDigest", "Region", "ReplicationBackfillId",
                           "UploadId", "ImageTagMutabilityExclusionFilterValue", "PrincipalArn",
                           "Base64", "Prefix"})


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
        raise InvalidParameter.constraint(field, "Member must not be null")
    if len(value) < NAME_MIN:
        raise InvalidParameter.constraint(field, f"must have length greater than or equal to "
                                          f"{NAME_MIN}")
    if len(value) > NAME_MAX:
        raise InvalidParameter.constraint(field, f"must have length less than or equal to "
                                          f"{NAME_MAX}")
    if not is_name(value):
        raise InvalidParameter.constraint(field, f"must satisfy regular expression "
                                          f"'{NAME_REGEX_SAID}'")
    return value


def is_image_digest(value: str) -> bool:
    return DIGEST_RE.fullmatch(value) is not None


def check_image_digest(value: str, field: str = "imageDigest") -> str:
    if not is_image_digest(value):
        raise InvalidParameter.constraint(field, f"must satisfy regular expression "
                                          f"'{DIGEST_PATTERN}'")
    return value


def check_image_tag(value: str, field: str = "imageTag") -> str:
    """A tag docker can pull: ECR's model allows any 1-300 characters, the lab also refuses (in
    its own voice) what `/v2/` refuses, so that every tag it keeps can be pulled."""
    if not is_tag(value):
        raise InvalidParameter(TAG_REFUSED.format(tag=value[:200]))
    return value


def check(op: Operation, params: Any) -> None:
    """Raise the InvalidParameter ECR would answer for input that breaks the model."""
    if op.input_shape is None:
        return
    _Checker(op.name in PER_IMAGE_FAILURES).structure(op.input_shape, params, None, 0)


class _Checker:
    """Walks the input; `field` is the top-level member, `depth` how many lists deep."""

    def __init__(self, per_image: bool):
        self.per_image = per_image

    @staticmethod
    def refuse(field: str | None, depth: int, rule: str) -> InvalidParameter:
        for _ in range(depth):
            rule = f"Member must satisfy constraint: [{rule}]"
        return InvalidParameter.constraint(field or "request", rule)

    def structure(self, shape: Shape, value: Any, field: str | None, depth: int) -> None:
        if not isinstance(value, dict):
            raise self.refuse(field, depth, "Member must be a structure")
        for name in shape.required_members:
            if value.get(name) is None:
                raise self.refuse(field or name, depth, "Member must not be null")
        for name, member_value in value.items():
            member = shape.members.get(name)
            if member is None or member_value is None:
                continue  # ECR ignores members it does not know
            where = field or name
            if name in NAME_MEMBERS and member.type_name == "string":
                check_repository_name(member_value, name)
                continue
            self.value(member, member_value, where, depth)
            if name in TAG_MEMBERS and isinstance(member_value, str):
                check_image_tag(member_value, name)
            if (name in DIGEST_MEMBERS and isinstance(member_value, str)
                    and not (self.per_image and depth)):
                check_image_digest(member_value, name)

    def value(self, shape: Shape, value: Any, field: str, depth: int) -> None:
        kind = shape.type_name
        if kind == "structure":
            self.structure(shape, value, field, depth)
        elif kind == "list":
            if not isinstance(value, list):
                raise self.refuse(field, depth, "Member must be a list")
            _length(self, shape, len(value), field, depth)
            for item in value:
                self.value(shape.member, item, field, depth + 1)
        elif kind == "map":
            if not isinstance(value, dict):
                raise self.refuse(field, depth, "Member must be a map")
        elif kind == "string":
            self.string(shape, value, field, depth)
        elif kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.refuse(field, depth, "Member must be a number")
            low, high = shape.metadata.get("min"), shape.metadata.get("max")
            if low is not None and value < low:
                raise self.refuse(field, depth, f"Member must have value greater than or equal "
                                  f"to {low}")
            if high is not None and value > high:
                raise self.refuse(field, depth, f"Member must have value less than or equal to "
                                  f"{high}")
        elif kind == "boolean":
            if not isinstance(value, bool):
                raise self.refuse(field, depth, "Member must be a boolean")
        elif kind == "blob":
            if not isinstance(value, str):
                raise self.refuse(field, depth, "Member must be base64-encoded bytes")
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise self.refuse(field, depth, "Member must be base64-encoded bytes") from None

    def string(self, shape: Shape, value: Any, field: str, depth: int) -> None:
        if not isinstance(value, str):
            raise self.refuse(field, depth, "Member must be a string")
        _length(self, shape, len(value), field, depth)
        if shape.enum and value not in shape.enum:
            raise self.refuse(field, depth, "Member must satisfy enum value set: "
                              f"[{', '.join(shape.enum)}]")
        pattern = shape.metadata.get("pattern") if shape.name in SAFE_PATTERNS else None
        if pattern and len(value) <= 4096 and not _fullmatch(pattern, value):
            raise self.refuse(field, depth, f"Member must satisfy regular expression pattern: "
                              f"{pattern}")


def _length(checker: _Checker, shape: Shape, size: int, field: str, depth: int) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        raise checker.refuse(field, depth, f"Member must have length greater than or equal to "
                             f"{low}")
    if high is not None and size > high:
        raise checker.refuse(field, depth, f"Member must have length less than or equal to "
                             f"{high}")


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:  # a Java-only construct: the lab's own checks still apply
        return None


def _fullmatch(pattern: str, value: str) -> bool:
    rx = _compiled(pattern)
    return True if rx is None else bool(rx.fullmatch(value))


__all__ = ["check", "check_image_digest", "check_image_tag", "check_repository_name",
           "is_image_digest", "operation", "service_model"]
