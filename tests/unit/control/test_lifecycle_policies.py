"""The ECR user guide's lifecycle policy examples ("Examples of lifecycle policies in Amazon
ECR"), each with the outcome the guide describes, plus the validation rules it states."""

from __future__ import annotations

import json

import pytest

from labkit.lab.control.lifecycle import (
    ImageFacts,
    LifecyclePolicyError,
    evaluate,
    validate,
)

NOW = 1_800_000_000.0
DAY = 86400.0
HOUR = 3600.0


def image(name: str, tags: list[str], age: float) -> ImageFacts:
    """An image called `name` (its digest), pushed `age` seconds before NOW."""
    return ImageFacts(digest=f"sha256:{name}", tags=tags, pushed_at=NOW - age, size=100)


def policy(*rules: dict) -> str:
    return json.dumps({"rules": [
        {"rulePriority": i + 1, "description": f"Rule {i + 1}", "selection": sel,
         "action": {"type": "expire"}} for i, sel in enumerate(rules)]})


def expired(text: str, images: list[ImageFacts]) -> list[str]:
    return [v.digest.removeprefix("sha256:") for v in evaluate(text, images, NOW)]


# --- "Filtering on image age" -------------------------------------------------------------

AGE = policy({"tagStatus": "tagged", "tagPatternList": ["prod*"], "countType": "sinceImagePushed",
              "countUnit": "days", "countNumber": 14})


def test_image_age_expires_prod_images_older_than_14_days():
    images = [image("old-prod", ["prod-1"], 20 * DAY), image("new-prod", ["prod-2"], 3 * DAY),
              image("old-dev", ["dev-1"], 30 * DAY), image("untagged", [], 30 * DAY)]
    assert expired(AGE, images) == ["old-prod"]


def test_image_age_counts_whole_days_from_push():
    images = [image("edge", ["prod"], 14 * DAY - HOUR), image("past", ["prod"], 14 * DAY + HOUR)]
    assert expired(AGE, images) == ["past"]


# --- "Filtering on image count" -----------------------------------------------------------

COUNT = policy({"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1})


def test_image_count_keeps_only_one_untagged_image():
    images = [image("u1", [], 3 * DAY), image("u2", [], 2 * DAY), image("u3", [], 1 * DAY),
              image("tagged", ["v1"], 5 * DAY)]
    assert expired(COUNT, images) == ["u1", "u2"]


# --- "Filtering on multiple rules" --------------------------------------------------------

MULTI = policy(
    {"tagStatus": "tagged", "tagPatternList": ["prod*"], "countType": "imageCountMoreThan",
     "countNumber": 1},
    {"tagStatus": "tagged", "tagPatternList": ["beta*"], "countType": "imageCountMoreThan",
     "countNumber": 1})


def test_multiple_rules_example_a_expires_image_a():
    """Rule 2 marks A and B, but A is already expired and B is held by rule 1."""
    images = [image("A", ["beta-1", "prod-1"], 10 * DAY), image("B", ["beta-2", "prod-2"], 9 * DAY),
              image("C", ["beta-3"], 8 * DAY)]
    assert expired(MULTI, images) == ["A"]


def test_multiple_rules_example_b_expires_images_a_and_b():
    images = [image("A", ["beta-1", "prod-1"], 10 * DAY), image("B", ["beta-2", "prod-2"], 9 * DAY),
              image("C", ["beta-3", "prod-3"], 8 * DAY)]
    assert expired(MULTI, images) == ["A", "B"]


def test_multiple_rules_with_prefix_lists_as_in_the_older_guide():
    text = MULTI.replace('"prod*"', '"prod"').replace('"beta*"', '"beta"').replace(
        "tagPatternList", "tagPrefixList")
    images = [image("A", ["beta-1", "prod-1"], 10 * DAY), image("B", ["beta-2", "prod-2"], 9 * DAY),
              image("C", ["beta-3"], 8 * DAY)]
    assert expired(text, images) == ["A"]


def test_each_image_is_expired_by_one_rule_only_the_first():
    verdicts = evaluate(MULTI, [image("A", ["beta-1", "prod-1"], 10 * DAY),
                                image("B", ["beta-2", "prod-2"], 9 * DAY),
                                image("C", ["beta-3", "prod-3"], 8 * DAY)], NOW)
    assert [(v.digest, v.rule_priority, v.action) for v in verdicts] == [
        ("sha256:A", 1, "EXPIRE"), ("sha256:B", 1, "EXPIRE")]


# --- "Filtering on multiple tags in a single rule" ----------------------------------------

def test_multiple_tags_example_a_image_must_match_every_pattern():
    text = policy({"tagStatus": "tagged", "tagPatternList": ["alpha*", "beta*"],
                   "countType": "sinceImagePushed", "countNumber": 5, "countUnit": "days"})
    images = [image("A", ["alpha-1"], 12 * DAY), image("B", ["beta-1"], 11 * DAY),
              image("C", ["alpha-2", "beta-2"], 10 * DAY), image("D", ["alpha-3"], 4 * DAY),
              image("E", ["alpha-4", "beta-4"], 3 * DAY)]
    assert expired(text, images) == ["C"]


def test_multiple_tags_example_b_tags_are_not_exclusive():
    text = policy({"tagStatus": "tagged", "tagPatternList": ["alpha*", "beta*"],
                   "countType": "imageCountMoreThan", "countNumber": 1})
    images = [image("A", ["alpha-1", "beta-1", "gamma-1"], 10 * DAY),
              image("B", ["alpha-2", "beta-2"], 9 * DAY),
              image("C", ["alpha-3", "beta-3", "gamma-3"], 8 * DAY)]
    assert expired(text, images) == ["A", "B"]


# --- "Filtering on all images" ------------------------------------------------------------

def test_all_images_example_a_keeps_only_the_newest():
    text = policy({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1})
    images = [image("A", ["alpha-1"], 4 * DAY), image("B", [], 3 * DAY),
              image("C", ["alpha-2"], 2 * DAY), image("D", ["git hash"], 1 * DAY)]
    assert expired(text, images) == ["A", "B", "C"]


def test_all_images_example_b_all_rule_types_together():
    """Rule 3 (any) counts every image but may only expire D: the others belong to rules 1-2."""
    text = policy(
        {"tagStatus": "tagged", "tagPatternList": ["alpha*"], "countType": "imageCountMoreThan",
         "countNumber": 1},
        {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
         "countNumber": 1},
        {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1})
    images = [image("A", ["alpha-1"], 4 * DAY), image("B", [], 3 * DAY),
              image("C", ["alpha-2"], 2 * DAY), image("D", ["git hash"], 1 * DAY + HOUR),
              image("E", [], 4 * HOUR)]
    assert expired(text, images) == ["A", "B", "D"]


# --- pattern matching ---------------------------------------------------------------------

@pytest.mark.parametrize(("pattern", "tag", "matches"), [
    ("prod*", "prod", True), ("prod*", "production", True), ("prod*", "preprod", False),
    ("*test*1*2*3", "my-test-x1y2z3", True), ("v1.*", "v1x2", False), ("latest", "latest", True),
    ("latest", "latest2", False),
])
def test_tag_patterns_wildcards_only(pattern: str, tag: str, matches: bool):
    text = policy({"tagStatus": "tagged", "tagPatternList": [pattern],
                   "countType": "imageCountMoreThan", "countNumber": 1})
    images = [image("old", [tag], 2 * DAY), image("new", [tag], DAY)]
    assert expired(text, images) == (["old"] if matches else [])


# --- validation: ECR's code, a message naming the problem --------------------------------

ONE_OF_SELECTION = "instance failed to match exactly one schema (matched 0 out of 4)\n"


@pytest.mark.parametrize(("text", "words"), [
    ("not json", "the ECR lab refuses it: the policy is not valid JSON"),
    ('{"rules": []}', "array is too short: must have at least 1 elements but instance has 0 "
                      "elements\n"),
    ('{"rules": null}', 'instance type (null) does not match any allowed primitive type '
                        '(allowed: ["array"])\n'),
    ("{}", 'object has missing required properties (["rules"])\n'),
    (policy({"tagStatus": "tagged", "tagPatternList": None, "countType": "imageCountMoreThan",
             "countNumber": 1}),
     'instance type (null) does not match any allowed primitive type (allowed: ["array"])'),
    (policy({"tagStatus": "any", "countType": "imageCountMoreThan", "countUnit": None,
             "countNumber": 1}), ONE_OF_SELECTION),
    (policy({"tagStatus": "tagged", "countType": "imageCountMoreThan", "countNumber": 1}),
     "the ECR lab refuses it: tagPrefixList or tagPatternList is required"),
    (policy({"tagStatus": "untagged", "tagPrefixList": ["a"], "countType": "imageCountMoreThan",
             "countNumber": 1}), "only be used when tagStatus is 'tagged'"),
    (policy({"tagStatus": "any", "countType": "sinceImagePushed", "countNumber": 1}),
     ONE_OF_SELECTION),
    (policy({"tagStatus": "any", "countType": "imageCountMoreThan", "countUnit": "days",
             "countNumber": 1}), ONE_OF_SELECTION),
    (policy({"tagStatus": "any", "countType": "sometimes", "countNumber": 1}), ONE_OF_SELECTION),
    (policy({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 0}),
     "numeric instance is lower than the required minimum (minimum: 1, found: 0)\n"),
    (policy({"tagStatus": "any", "countType": "imageCountMoreThan"}),
     'object has missing required properties (["countNumber"])\n'),
    (policy({"tagStatus": "sometimes", "countType": "imageCountMoreThan", "countNumber": 1}),
     'instance value ("sometimes") not found in enum (possible values: '
     '["tagged","untagged","any"])\n'),
    (policy({"tagStatus": "tagged", "tagPatternList": ["*a*b*c*d*e"],
             "countType": "imageCountMoreThan", "countNumber": 1}), "more than 4 wildcards"),
    (policy({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
            {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1}),
     "'any' must have the highest rulePriority"),
    (policy({"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1},
            {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 2}),
     "only one rule can select untagged images"),
    (policy({"tagStatus": "tagged", "tagPrefixList": ["v"], "countType": "imageCountMoreThan",
             "countNumber": 1},
            {"tagStatus": "tagged", "tagPrefixList": ["v"], "countType": "sinceImagePushed",
             "countUnit": "days", "countNumber": 1}), "unique set of tag prefixes"),
    (policy({"tagStatus": "any", "countType": "sinceImagePulled", "countUnit": "days",
             "countNumber": 1}), "not supported by the lab"),
    (policy({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1,
             "tagPrefix": ["v"]}), 'not allowed by the schema: ["tagPrefix"]\n'),
])
def test_invalid_policies_are_refused_as_ecr_does(text: str, words: str):
    with pytest.raises(LifecyclePolicyError) as e:
        validate(text)
    assert e.value.code == "InvalidParameterException"
    assert e.value.message.startswith(
        "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
        "'Lifecycle policy validation failure: ")
    assert words in e.value.message
    assert e.value.message.endswith("'")


def test_an_action_with_a_null_storage_class_matches_neither_alternative():
    """cloudposse/terraform-aws-ecr#158: `"targetStorageClass": null` -> 0 out of 2."""
    doc = json.loads(policy({"tagStatus": "any", "countType": "imageCountMoreThan",
                             "countNumber": 1}))
    doc["rules"][0]["action"]["targetStorageClass"] = None
    with pytest.raises(LifecyclePolicyError) as e:
        validate(json.dumps(doc))
    assert e.value.message.endswith("instance failed to match exactly one schema (matched 0 out "
                                    "of 2)\n'")


def test_duplicate_priorities_are_refused():
    doc = json.loads(COUNT)
    doc["rules"].append(dict(doc["rules"][0]))
    doc["rules"][1] = {**doc["rules"][1], "selection": {
        "tagStatus": "tagged", "tagPrefixList": ["x"], "countType": "imageCountMoreThan",
        "countNumber": 1}}
    with pytest.raises(LifecyclePolicyError, match="unique"):
        validate(json.dumps(doc))


def test_every_guide_example_is_valid():
    for text in (AGE, COUNT, MULTI):
        validate(text)


# --- images inside an index, and the preview's shape -------------------------------------

def test_an_image_listed_by_an_index_is_counted_but_not_expired():
    text = policy({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1})
    child = image("child", [], 3 * DAY)
    child.referenced_by = ["sha256:index"]
    images = [child, image("old", ["v1"], 2 * DAY), image("index", ["v2"], DAY)]
    assert expired(text, images) == ["old"]


def test_preview_results_have_ecr_shape():
    from labkit.lab.control.lifecycle import preview_results

    images = [image("u1", [], 3 * DAY), image("u2", [], 2 * DAY)]
    doc = preview_results(evaluate(COUNT, images, NOW), images)
    assert doc == {"previewResults": [{"imageTags": [], "imageDigest": "sha256:u1",
                                       "imagePushedAt": NOW - 3 * DAY,
                                       "action": {"type": "EXPIRE"},
                                       "appliedRulePriority": 1}],
                   "summary": {"expiringImageTotalCount": 1}}


def test_a_higher_priority_rule_protects_what_it_identifies():
    """The 'keep stable images' idiom: rule 10 identifies 16.x and keeps 9999 of them, so rule
    20 (16_x, keep 2) counts them but can never expire them."""
    text = json.dumps({"rules": [
        {"rulePriority": 10, "selection": {"tagStatus": "tagged", "tagPrefixList": ["16."],
                                           "countType": "imageCountMoreThan",
                                           "countNumber": 9999}, "action": {"type": "expire"}},
        {"rulePriority": 20, "selection": {"tagStatus": "tagged", "tagPrefixList": ["16"],
                                           "countType": "imageCountMoreThan", "countNumber": 2},
         "action": {"type": "expire"}}]})
    images = [image("stable-old", ["16.1"], 9 * DAY), image("u1", ["16_1"], 8 * DAY),
              image("u2", ["16_2"], 7 * DAY), image("stable-new", ["16.2"], 6 * DAY),
              image("u3", ["16_3"], 5 * DAY)]
    assert expired(text, images) == ["u1", "u2"]
