"""Which tags of a repository may not be overwritten: ECR's four tag mutability settings and the
wildcard exclusion filters of the two `*_WITH_EXCLUSION` ones.  The ECR API (PutImage) and the
registry (`/v2/` manifest PUT) both ask `tag_is_immutable`, so the two paths agree."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import invalid_parameter

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


def check_settings(mode: str, filters: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The exclusion filters to store for `mode`; ECR refuses filters without an exclusion mode
    and an exclusion mode without filters."""
    filters = list(filters or [])
    if mode in WITH_EXCLUSION and not filters:
        raise invalid_parameter(f"Invalid parameter at 'imageTagMutabilityExclusionFilters' "
                                f"failed to satisfy constraint: 'must not be empty when "
                                f"imageTagMutability is {mode}'")
    if mode not in WITH_EXCLUSION and filters:
        raise invalid_parameter("Invalid parameter at 'imageTagMutabilityExclusionFilters' failed "
                                "to satisfy constraint: 'exclusion filters are only allowed with "
                                "IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION'")
    for f in filters:
        if f.get("filterType") != "WILDCARD" or not f.get("filter"):
            raise invalid_parameter("Invalid parameter at 'imageTagMutabilityExclusionFilters' "
                                    "failed to satisfy constraint: 'each filter needs filterType "
                                    "WILDCARD and a filter'")
    return [{"filterType": "WILDCARD", "filter": f["filter"]} for f in filters]
