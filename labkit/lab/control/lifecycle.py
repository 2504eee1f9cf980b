"""ECR lifecycle policies: validation and evaluation, with the semantics the ECR user guide
documents ("Lifecycle policy properties", "How lifecycle policies work", "Examples").

What an evaluation does, as ECR's guide states it:
- rules run in `rulePriority` order, lowest first; a rule with `tagStatus: any` must have the
  highest priority number (it runs last);
- a rule *identifies* the images its selection matches (`tagged` with every entry of
  `tagPrefixList`/`tagPatternList` matching one of the image's tags, `untagged`, or `any`), then
  *marks* the oldest of them: those beyond the newest `countNumber` (`imageCountMoreThan`) or
  pushed more than `countNumber` days ago (`sinceImagePushed`);
- an image is expired by exactly one or zero rules, and an image identified by a
  higher-priority rule can never be expired by a lower-priority one; lower-priority rules still
  *count* it ("can still identify them as if they haven't been expired");
- expiry always goes oldest push first.

Pure functions over plain data: the registry's store and the clock are the caller's business.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import ModuleError

DAY = 86400.0
MAX_WILDCARDS = 4
TAG_STATUSES = ("tagged", "untagged", "any")
COUNT_TYPES = ("imageCountMoreThan", "sinceImagePushed")
# Newer ECR features (archive storage class) that the lab does not model.
UNSUPPORTED_COUNT_TYPES = ("sinceImagePulled", "sinceImageTransitioned")


class LifecyclePolicyError(ModuleError):
    """An ECR API error about a lifecycle policy, with ECR's exception name as `code`."""


def invalid(detail: str) -> LifecyclePolicyError:
    """ECR's wording for a policy that fails its validation (PutLifecyclePolicy and preview)."""
    return LifecyclePolicyError(
        "InvalidParameterException",
        "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
        f"'Lifecycle policy validation failure: {detail}'")


def policy_not_found(repository: str, registry_id: str) -> LifecyclePolicyError:
    """GetLifecyclePolicy / DeleteLifecyclePolicy on a repository without a policy."""
    return LifecyclePolicyError(
        "LifecyclePolicyNotFoundException",
        f"Lifecycle policy does not exist for the repository with name '{repository}' in the "
        f"registry with id '{registry_id}'")


def preview_not_found(repository: str, registry_id: str) -> LifecyclePolicyError:
    """GetLifecyclePolicyPreview on a repository where no preview was started."""
    return LifecyclePolicyError(
        "LifecyclePolicyPreviewNotFoundException",
        f"Lifecycle policy preview does not exist for the repository with name '{repository}' "
        f"in the registry with id '{registry_id}'")


@dataclass
class ImageFacts:
    """What the evaluator needs to know about one image (one manifest) of a repository."""

    digest: str
    tags: list[str]
    pushed_at: float
    size: int
    # Digests of image indexes (manifest lists) in the repository that list this image: ECR
    # never expires such an image before the index is gone ("can't be expired without the
    # manifest list being deleted first"); rules still count it.
    referenced_by: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    """An image a rule expires (the preview's `previewResults` entry, the runner's work)."""

    digest: str
    tags: list[str]
    rule_priority: int
    action: str = "EXPIRE"


@dataclass(frozen=True)
class Rule:
    priority: int
    tag_status: str
    count_type: str
    count_number: int
    prefixes: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    description: str = ""
    regexes: tuple[re.Pattern[str], ...] = field(default=(), compare=False, repr=False)

    def identifies(self, image: ImageFacts) -> bool:
        """Does the rule's selection (tag status and tag filters) take this image in?"""
        if self.tag_status == "any":
            return True
        if self.tag_status == "untagged":
            return not image.tags
        if not image.tags:
            return False
        # Every listed prefix / pattern must match at least one of the image's tags.
        return (all(any(t.startswith(p) for t in image.tags) for p in self.prefixes)
                and all(any(rx.fullmatch(t) for t in image.tags) for rx in self.regexes))

    def marks(self, identified: list[ImageFacts], now: float) -> list[ImageFacts]:
        """The identified images this rule would expire, oldest first."""
        newest_first = sorted(identified, key=lambda i: (-i.pushed_at, i.digest))
        if self.count_type == "imageCountMoreThan":
            doomed = newest_first[self.count_number:]
        else:
            doomed = [i for i in newest_first if now - i.pushed_at > self.count_number * DAY]
        return sorted(doomed, key=lambda i: (i.pushed_at, i.digest))


RULE_KEYS = {"rulePriority", "description", "selection", "action"}
SELECTION_KEYS = {"tagStatus", "tagPrefixList", "tagPatternList", "countType", "countUnit",
                  "countNumber", "storageClass"}
ACTION_KEYS = {"type", "targetStorageClass"}


def _only(doc: dict[str, Any], allowed: set[str], where: str) -> None:
    """A misspelt key is an error, as in ECR's schema (not silently ignored)."""
    extra = sorted(set(doc) - allowed)
    if extra:
        raise invalid(f"object instance has properties which are not allowed by the schema: "
                      f"{json.dumps(extra)} in {where}")


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A tagPatternList entry: `*` matches any run of characters, everything else literally."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def _string_list(selection: dict[str, Any], key: str) -> tuple[str, ...]:
    value = selection.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise invalid(f"{key} must be a list of non-empty strings")
    if not value:
        raise invalid(f"{key} must not be empty")
    return tuple(value)


def _integer(doc: dict[str, Any], key: str, where: str) -> int:
    value = doc.get(key)
    if value is None:
        raise invalid(f"object has missing required properties ([\"{key}\"]) in {where}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{key} must be an integer in {where}")
    if value < 1:
        raise invalid(f"numeric instance {key} is lower than the required minimum 1 in {where}")
    return value


def _rule(doc: Any, index: int) -> Rule:
    where = f"rule {index + 1}"
    if not isinstance(doc, dict):
        raise invalid(f"{where} is not an object")
    priority = _integer(doc, "rulePriority", where)
    where = f"rule with rulePriority {priority}"
    selection, action = doc.get("selection"), doc.get("action")
    if not isinstance(selection, dict):
        raise invalid(f"object has missing required properties ([\"selection\"]) in {where}")
    if not isinstance(action, dict):
        raise invalid(f"object has missing required properties ([\"action\"]) in {where}")
    _only(doc, RULE_KEYS, where)
    _only(selection, SELECTION_KEYS, f"the selection of the {where}")
    _only(action, ACTION_KEYS, f"the action of the {where}")
    if action.get("type") != "expire":
        if action.get("type") == "transition":
            raise invalid(f"action type 'transition' (archive storage) is not supported by the "
                          f"lab, only 'expire', in {where}")
        raise invalid(f"action type must be 'expire' in {where}")
    status = selection.get("tagStatus")
    if status not in TAG_STATUSES:
        raise invalid(f"tagStatus must be one of {list(TAG_STATUSES)} in {where}")
    prefixes = _string_list(selection, "tagPrefixList")
    patterns = _string_list(selection, "tagPatternList")
    if status == "tagged" and not (prefixes or patterns):
        raise invalid(f"tagPrefixList or tagPatternList is required when tagStatus is "
                      f"'tagged' in {where}")
    if status == "tagged" and prefixes and patterns:
        raise invalid(f"tagPrefixList and tagPatternList cannot both be specified in {where}")
    if status != "tagged" and (prefixes or patterns):
        raise invalid(f"tagPrefixList and tagPatternList can only be used when tagStatus is "
                      f"'tagged' in {where}")
    for pattern in patterns:
        if pattern.count("*") > MAX_WILDCARDS:
            raise invalid(f"tagPatternList entry '{pattern}' has more than {MAX_WILDCARDS} "
                          f"wildcards in {where}")
    count_type = selection.get("countType")
    if count_type in UNSUPPORTED_COUNT_TYPES:
        raise invalid(f"countType '{count_type}' (archive storage) is not supported by the lab "
                      f"in {where}")
    if count_type not in COUNT_TYPES:
        raise invalid(f"countType must be one of {list(COUNT_TYPES)} in {where}")
    number = _integer(selection, "countNumber", where)
    unit = selection.get("countUnit")
    if count_type == "sinceImagePushed" and unit != "days":
        raise invalid(f"countUnit must be 'days' when countType is 'sinceImagePushed' in {where}")
    if count_type == "imageCountMoreThan" and unit is not None:
        raise invalid(f"countUnit cannot be used when countType is 'imageCountMoreThan' in "
                      f"{where}")
    description = doc.get("description", "")
    return Rule(priority, status, count_type, number, prefixes, patterns,
                description if isinstance(description, str) else "",
                tuple(_pattern_regex(p) for p in patterns))


def parse(policy_text: str) -> list[Rule]:
    """The policy's rules, lowest priority number first; LifecyclePolicyError if invalid."""
    try:
        doc = json.loads(policy_text)
    except (TypeError, ValueError):
        raise invalid("the policy is not valid JSON") from None
    rules_doc = doc.get("rules") if isinstance(doc, dict) else None
    if not isinstance(rules_doc, list) or not rules_doc:
        raise invalid("object has missing required properties ([\"rules\"])")
    _only(doc, {"rules"}, "the policy")
    rules = sorted((_rule(r, i) for i, r in enumerate(rules_doc)), key=lambda r: r.priority)
    priorities = [r.priority for r in rules]
    if len(set(priorities)) != len(priorities):
        raise invalid("rulePriority values must be unique")
    if any(r.tag_status == "any" for r in rules[:-1]):
        raise invalid("a rule with tagStatus 'any' must have the highest rulePriority")
    if sum(r.tag_status == "untagged" for r in rules) > 1:
        raise invalid("only one rule can select untagged images")
    filters = [frozenset(r.prefixes) | frozenset("*" + p for p in r.patterns)
               for r in rules if r.tag_status == "tagged"]
    if len(set(filters)) != len(filters):
        raise invalid("the rules must contain a unique set of tag prefixes")
    return rules


def validate(policy_text: str) -> None:
    """Raise LifecyclePolicyError (InvalidParameterException) if ECR would refuse the policy."""
    parse(policy_text)


def evaluate(policy_text: str, images: list[ImageFacts], now: float) -> list[Verdict]:
    """What the policy expires at time `now` (seconds since the epoch), oldest push first."""
    expired: dict[str, Verdict] = {}
    claimed: set[str] = set()  # identified by a higher-priority rule: off limits from now on
    for rule in parse(policy_text):
        identified = [i for i in images if rule.identifies(i)]
        for image in rule.marks(identified, now):
            if (image.digest not in claimed and image.digest not in expired
                    and not image.referenced_by):
                expired[image.digest] = Verdict(image.digest, sorted(image.tags), rule.priority)
        claimed.update(i.digest for i in identified)
    pushed = {i.digest: i.pushed_at for i in images}
    return sorted(expired.values(), key=lambda v: (pushed[v.digest], v.digest))


def preview_results(verdicts: list[Verdict], images: list[ImageFacts]) -> dict[str, Any]:
    """GetLifecyclePolicyPreview's `previewResults` and `summary` for these verdicts."""
    pushed = {i.digest: i.pushed_at for i in images}
    return {"previewResults": [
        {"imageTags": v.tags, "imageDigest": v.digest, "imagePushedAt": pushed.get(v.digest),
         "action": {"type": v.action}, "appliedRulePriority": v.rule_priority}
        for v in verdicts],
        "summary": {"expiringImageTotalCount": len(verdicts)}}


__all__ = ["ImageFacts", "LifecyclePolicyError", "Rule", "Verdict", "evaluate", "invalid",
           "parse", "policy_not_found", "preview_not_found", "preview_results", "validate"]
