"""Which tags of a repository may not be overwritten: ECR's four tag mutability settings and the
wildcard exclusion filters of the two `*_WITH_EXCLUSION` ones.  The ECR API (PutImage) and the
registry (`/v2/` manifest PUT) both ask `tag_is_immutable`, so the two paths agree."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import InvalidParameter

MODES = ("MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION")
WITH_EXCLUSION = frozenset({"IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"})


def wildcard_match(pattern: str, tag: str) -> bool:
    """ECR's WILDCARD filter: `*` matches any run of characters, everything else is literal."""
    rx = "".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", pattern))
    return re.fullmatch(rx, tag) is not None


def matches_any(filters: Iterable[Mapping[str, Any]], tag: str) -> bool:
    return any(wildcard_match(str(f.get("filter", "")), tag) for f in filters)


def tag_is_immutable(record: Mapping[str, Any], tag: str) -> bool:
    """True if `tag` may not be moved in a repository with these settings."""
    mode = record.get("imageTagMutability", "MUTABLE")
    filters = record.get("imageTagMutabilityExclusionFilters") or []
    if mode == "IMMUTABLE":
        return True
    if mode == "IMMUTABLE_WITH_EXCLUSION":
        return not matches_any(filters, tag)
    if mode == "MUTABLE_WITH_EXCLUSION":
        return matches_any(filters, tag)
    return False


def check_settings(mode: str, filters: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    """The exclusion filters to store for `mode`.  ECR refuses filters without an exclusion mode
    and an exclusion mode without filters; its words for it are not on record, so the lab says
    it in its own (for CreateRepository, PutImageTagMutability and creation templates alike)."""
    filters = list(filters or [])
    if mode in WITH_EXCLUSION and not filters:
        raise InvalidParameter(f"The ECR lab refuses imageTagMutability {mode} without "
                               "imageTagMutabilityExclusionFilters: the exclusion modes need at "
                               "least one filter.")
    if mode not in WITH_EXCLUSION and filters:
        raise InvalidParameter(f"The ECR lab refuses imageTagMutabilityExclusionFilters with "
                               f"imageTagMutability {mode}: filters belong to "
                               "IMMUTABLE_WITH_EXCLUSION and MUTABLE_WITH_EXCLUSION only.")
    return [{"filterType": "WILDCARD", "filter": str(f["filter"])} for f in filters]
