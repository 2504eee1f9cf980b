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

Validation answers as ECR does: ECR checks a policy against a JSON schema, and its refusals are
its schema validator's messages ("object has missing required properties", "instance type (null)
does not match any allowed primitive type", "instance failed to match exactly one schema (matched
0 out of 2)", sourced in tests/fixtures/ecr_messages.json).  The schema itself is not published;
the one here is rebuilt from those answers: a selection is one of four `countType` alternatives
(terraform-provider-aws#45909: "matched 0 out of 4"), an action one of two (`expire`,
`transition`: cloudposse/terraform-aws-ecr#158).  The checks across rules, and what the lab does
not model (archive storage), are said in the lab's own voice.

Pure functions over plain data: the registry's store and the clock are the caller's business.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidParameter

DAY = 86400.0
MAX_WILDCARDS = 4
TAG_STATUSES = ("tagged", "untagged", "any")
COUNT_TYPES = ("imageCountMoreThan", "sinceImagePushed")
# Newer ECR features (archive storage class) that the lab does not model.
UNSUPPORTED_COUNT_TYPES = ("sinceImagePulled", "sinceImageTransitioned")
ACTION_TYPES = ("expire", "transition")
FAILURE = "Lifecycle policy validation failure: "


class LifecyclePolicyError(InvalidParameter):
    """A lifecycle policy ECR refuses (PutLifecyclePolicy, a preview, a creation template)."""

    def __init__(self, detail: str):
        super().__init__(InvalidParameter.constraint("LifecyclePolicyText",
                                                     FAILURE + detail).message)
        self.detail = detail


def invalid(detail: str) -> LifecyclePolicyError:
    """ECR's schema validator's message (one line, as ECR ends each with a newline)."""
    return LifecyclePolicyError(detail + "\n")


def lab_refusal(detail: str) -> LifecyclePolicyError:
    """A refusal no source shows ECR's words for: said as the lab's."""
    return LifecyclePolicyError(f"the ECR lab refuses it: {detail}")


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


RULE_KEYS = frozenset({"rulePriority", "description", "selection", "action"})
SELECTION_KEYS = frozenset({"tagStatus", "tagPrefixList", "tagPatternList", "countType",
                            "countUnit", "countNumber", "storageClass"})
ACTION_KEYS = frozenset({"type", "targetStorageClass"})


def _json_type(value: Any) -> str:
    """The JSON type of a value as the schema validator names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "object")


def _type(value: Any, wanted: str) -> None:
    if _json_type(value) != wanted:
        raise invalid(f"instance type ({_json_type(value)}) does not match any allowed "
                      f'primitive type (allowed: ["{wanted}"])')


def _object(doc: Any, required: tuple[str, ...], allowed: frozenset[str]) -> dict[str, Any]:
    _type(doc, "object")
    missing = sorted(k for k in required if k not in doc)
    if missing:
        raise invalid(f"object has missing required properties ({json.dumps(missing)})".replace(
            ", ", ","))
    extra = sorted(set(doc) - allowed)
    if extra:
        raise invalid("object instance has properties which are not allowed by the schema: "
                      + json.dumps(extra).replace(", ", ","))
    return doc


def _integer(value: Any) -> int:
    _type(value, "integer")
    if value < 1:
        raise invalid(f"numeric instance is lower than the required minimum (minimum: 1, "
                      f"found: {value})")
    return value


def _strings(selection: dict[str, Any], key: str) -> tuple[str, ...]:
    if key not in selection:
        return ()
    value = selection[key]
    _type(value, "array")
    for item in value:
        _type(item, "string")
    return tuple(value)


def _enum(value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise invalid(f"instance value ({json.dumps(value)}) not found in enum (possible values: "
                      f"{json.dumps(list(allowed)).replace(', ', ',')})")


def _one_of(matches: int, alternatives: int) -> None:
    if matches != 1:
        raise invalid(f"instance failed to match exactly one schema (matched {matches} out of "
                      f"{alternatives})")


def _selection(doc: Any) -> tuple[str, str, int, tuple[str, ...], tuple[str, ...]]:
    selection = _object(doc, ("tagStatus", "countType", "countNumber"), SELECTION_KEYS)
    status = selection["tagStatus"]
    _type(status, "string")
    _enum(status, TAG_STATUSES)
    prefixes = _strings(selection, "tagPrefixList")
    patterns = _strings(selection, "tagPatternList")
    number = _integer(selection["countNumber"])
    count_type, unit = selection["countType"], selection.get("countUnit", ...)
    # The four countType alternatives: imageCountMoreThan takes no countUnit, the others
    # countUnit "days".
    if count_type == "imageCountMoreThan":
        matched = unit is ...
    else:
        matched = count_type in (*COUNT_TYPES, *UNSUPPORTED_COUNT_TYPES) and unit == "days"
    _one_of(int(matched), 4)
    if count_type in UNSUPPORTED_COUNT_TYPES:
        raise lab_refusal(f"countType '{count_type}' (archive storage) is not supported by the "
                          "lab")
    if status == "tagged" and not (prefixes or patterns):
        raise lab_refusal("tagPrefixList or tagPatternList is required when tagStatus is "
                          "'tagged'")
    if status == "tagged" and prefixes and patterns:
        raise lab_refusal("tagPrefixList and tagPatternList cannot both be specified")
    if status != "tagged" and (prefixes or patterns):
        raise lab_refusal("tagPrefixList and tagPatternList can only be used when tagStatus is "
                          "'tagged'")
    if not all(prefixes) or not all(patterns):
        raise lab_refusal("tagPrefixList and tagPatternList entries must not be empty")
    for pattern in patterns:
        if pattern.count("*") > MAX_WILDCARDS:
            raise lab_refusal(f"tagPatternList entry '{pattern}' has more than {MAX_WILDCARDS} "
                              "wildcards")
    return status, count_type, number, prefixes, patterns


def _action(doc: Any) -> None:
    action = _object(doc, ("type",), ACTION_KEYS)
    kind = action["type"]
    # The two action alternatives: expire (no targetStorageClass), transition (to archive).
    matched = ((kind == "expire" and "targetStorageClass" not in action)
               or (kind == "transition" and action.get("targetStorageClass") == "archive"))
    _one_of(int(matched), len(ACTION_TYPES))
    if kind == "transition":
        raise lab_refusal("action type 'transition' (archive storage) is not supported by the "
                          "lab, only 'expire'")


def _rule(doc: Any) -> Rule:
    rule = _object(doc, ("rulePriority", "selection", "action"), RULE_KEYS)
    priority = _integer(rule["rulePriority"])
    if "description" in rule:
        _type(rule["description"], "string")
    status, count_type, number, prefixes, patterns = _selection(rule["selection"])
    _action(rule["action"])
    return Rule(priority, status, count_type, number, prefixes, patterns,
                rule.get("description", ""), tuple(_pattern_regex(p) for p in patterns))


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A tagPatternList entry: `*` matches any run of characters, everything else literally."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def parse(policy_text: str) -> list[Rule]:
    """The policy's rules, lowest priority number first; LifecyclePolicyError if invalid."""
    try:
        doc = json.loads(policy_text)
    except (TypeError, ValueError, RecursionError):
        raise lab_refusal("the policy is not valid JSON") from None
    _object(doc, ("rules",), frozenset({"rules"}))
    _type(doc["rules"], "array")
    if not doc["rules"]:
        raise invalid("array is too short: must have at least 1 elements but instance has 0 "
                      "elements")
    rules = sorted((_rule(r) for r in doc["rules"]), key=lambda r: r.priority)
    priorities = [r.priority for r in rules]
    if len(set(priorities)) != len(priorities):
        raise lab_refusal("rulePriority values must be unique")
    if any(r.tag_status == "any" for r in rules[:-1]):
        raise lab_refusal("a rule with tagStatus 'any' must have the highest rulePriority")
    if sum(r.tag_status == "untagged" for r in rules) > 1:
        raise lab_refusal("only one rule can select untagged images")
    filters = [frozenset(r.prefixes) | frozenset("*" + p for p in r.patterns)
               for r in rules if r.tag_status == "tagged"]
    if len(set(filters)) != len(filters):
        raise lab_refusal("the rules must contain a unique set of tag prefixes")
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
           "parse", "preview_results", "validate"]
