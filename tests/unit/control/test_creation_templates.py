"""Repository creation templates through the ECR API's one door (`EcrBackend.call`): ECR's
validation, persistence, prefix matching, and create on push (unit level; the docker CLI test
is in integration)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.lab.control.backend import EcrBackend
from labkit.lab.control.errors import EcrError
from labkit.lab.registry.errors import Denied
from tests.fixtures.ecr_messages import assert_ecr_message
from tests.unit.control.backend_harness import ACCOUNT, Clock, make_backend

KEEP_ONE = json.dumps({"rules": [{"rulePriority": 1, "selection": {
    "tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
    "action": {"type": "expire"}}]})
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "pull", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]})


@pytest.fixture
def backend(tmp_path: Path) -> EcrBackend:
    return make_backend(tmp_path, Clock(1000.0))


def create(backend: EcrBackend, **params: object) -> dict:
    return backend.call("CreateRepositoryCreationTemplate", params)["repositoryCreationTemplate"]


def refused(call, *args) -> EcrError:  # noqa: ANN001
    with pytest.raises(EcrError) as e:
        call(*args)
    return e.value


def test_create_describe_update_delete_and_persist(backend: EcrBackend, tmp_path: Path) -> None:
    t = create(backend, prefix="prod", appliedFor=["CREATE_ON_PUSH"],
               imageTagMutability="IMMUTABLE", lifecyclePolicy=KEEP_ONE,
               resourceTags=[{"Key": "team", "Value": "a"}])
    assert t["prefix"] == "prod" and t["appliedFor"] == ["CREATE_ON_PUSH"]
    assert t["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert t["createdAt"] == t["updatedAt"] == 1000.0
    backend.call("UpdateRepositoryCreationTemplate", {"prefix": "prod",
                                                      "description": "production"})
    reloaded = make_backend(tmp_path)  # a restart reads the same file
    [again] = reloaded.call("DescribeRepositoryCreationTemplates", {})[
        "repositoryCreationTemplates"]
    assert again["description"] == "production" and again["imageTagMutability"] == "IMMUTABLE"
    assert again["lifecyclePolicy"] == KEEP_ONE
    gone = reloaded.call("DeleteRepositoryCreationTemplate", {"prefix": "prod"})
    assert gone["repositoryCreationTemplate"]["prefix"] == "prod"
    assert make_backend(tmp_path).call("DescribeRepositoryCreationTemplates", {})[
        "repositoryCreationTemplates"] == []


def test_already_exists_and_not_found_in_the_models_words(backend: EcrBackend) -> None:
    create(backend, prefix="prod", appliedFor=["REPLICATION"])
    e = refused(backend.call, "CreateRepositoryCreationTemplate",
                {"prefix": "prod", "appliedFor": ["CREATE_ON_PUSH"]})
    assert e.code == "TemplateAlreadyExistsException"
    assert_ecr_message("model.TemplateAlreadyExistsException", e.message)
    for action in ("UpdateRepositoryCreationTemplate", "DeleteRepositoryCreationTemplate"):
        e = refused(backend.call, action, {"prefix": "dev"})
        assert e.code == "TemplateNotFoundException"
        assert_ecr_message("model.TemplateNotFoundException", e.message)


@pytest.mark.parametrize(("params", "words"), [
    ({"prefix": "Prod", "appliedFor": ["CREATE_ON_PUSH"]},
     "Invalid parameter at 'prefix' failed to satisfy constraint: 'Member must satisfy regular "
     "expression pattern"),
    ({"prefix": "a" * 257, "appliedFor": ["CREATE_ON_PUSH"]},
     "'Member must have length less than or equal to 256'"),
    ({"prefix": "prod", "appliedFor": []}, "'Member must have length greater than or equal to 1'"),
    ({"prefix": "prod", "appliedFor": ["ON_PULL"]},
     "Invalid parameter at 'appliedFor' failed to satisfy constraint: 'Member must satisfy "
     "constraint: [Member must satisfy enum value set: [REPLICATION, PULL_THROUGH_CACHE, "
     "CREATE_ON_PUSH]]'"),
    ({"prefix": "prod", "appliedFor": ["CREATE_ON_PUSH"], "imageTagMutability": "FROZEN"},
     "enum value set"),
    ({"prefix": "prod", "appliedFor": ["CREATE_ON_PUSH"],
      "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION"}, "The ECR lab refuses imageTagMutability"),
    ({"prefix": "prod", "appliedFor": ["CREATE_ON_PUSH"], "imageTagMutability": "MUTABLE",
      "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "dev*"}]},
     "filters belong to IMMUTABLE_WITH_EXCLUSION and MUTABLE_WITH_EXCLUSION only"),
    ({"prefix": "prod", "appliedFor": ["CREATE_ON_PUSH"], "lifecyclePolicy": "{}"},
     "Lifecycle policy validation failure"),
    ({"prefix": "prod", "appliedFor": ["CREATE_ON_PUSH"], "repositoryPolicy": "nope"},
     "Invalid repository policy provided"),
    ({"prefix": "prod", "appliedFor": ["CREATE_ON_PUSH"],
      "encryptionConfiguration": {"encryptionType": "AES256", "kmsKey": "alias/x"}},
     "kmsKey with encryptionType AES256"),
    ({"prefix": "prod", "appliedFor": ["CREATE_ON_PUSH"],
      "resourceTags": [{"Key": "aws:team", "Value": "a"}]}, "Tag keys can have a maximum"),
])
def test_invalid_templates_are_refused_and_not_stored(backend: EcrBackend, params: dict,
                                                      words: str) -> None:
    e = refused(backend.call, "CreateRepositoryCreationTemplate", params)
    assert words in e.message, e.message
    assert "{" not in e.message.replace("{0,127}", "")  # no Python dict in a message
    assert backend.call("DescribeRepositoryCreationTemplates", {})[
        "repositoryCreationTemplates"] == []


@pytest.mark.parametrize("prefix", ["ROOT", "prod", "prod/team", "a.b_c--d/e__f", "prod/"])
def test_valid_prefixes(backend: EcrBackend, prefix: str) -> None:
    create(backend, prefix=prefix, appliedFor=["CREATE_ON_PUSH"])


def test_match_longest_prefix_wins_root_catches_the_rest(backend: EcrBackend) -> None:
    for prefix in ("ROOT", "prod", "prod/team"):
        create(backend, prefix=prefix, appliedFor=["CREATE_ON_PUSH"])
    create(backend, prefix="cache", appliedFor=["PULL_THROUGH_CACHE"])
    store = backend.registry.templates
    assert store.match("prod/team/api", "CREATE_ON_PUSH").prefix == "prod/team"
    assert store.match("prod/web", "CREATE_ON_PUSH").prefix == "prod"
    assert store.match("production", "CREATE_ON_PUSH").prefix == "ROOT"  # not under prod/
    assert store.match("cache/x", "CREATE_ON_PUSH").prefix == "ROOT"
    assert store.match("cache/x", "PULL_THROUGH_CACHE").prefix == "cache"
    backend.call("DeleteRepositoryCreationTemplate", {"prefix": "ROOT"})
    assert store.match("production", "CREATE_ON_PUSH") is None


def test_create_on_push_makes_the_repository_with_the_template_settings(
        backend: EcrBackend) -> None:
    create(backend, prefix="prod", appliedFor=["CREATE_ON_PUSH"],
           imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
           imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "latest"}],
           lifecyclePolicy=KEEP_ONE, repositoryPolicy=POLICY,
           resourceTags=[{"Key": "team", "Value": "a"}])
    assert backend.repository_for_push("dev/app") is False
    assert not backend.repository_exists("dev/app")
    assert backend.repository_for_push("prod/app") is True
    [repo] = backend.call("DescribeRepositories", {"repositoryNames": ["prod/app"]})[
        "repositories"]
    assert repo["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert repo["imageTagMutabilityExclusionFilters"] == [
        {"filterType": "WILDCARD", "filter": "latest"}]
    assert backend.call("GetLifecyclePolicy", {"repositoryName": "prod/app"})[
        "lifecyclePolicyText"] == KEEP_ONE
    assert backend.call("GetRepositoryPolicy", {"repositoryName": "prod/app"})[
        "policyText"] == POLICY
    tags = backend.call("ListTagsForResource", {"resourceArn": repo["repositoryArn"]})["tags"]
    assert tags == [{"Key": "team", "Value": "a"}]
    assert backend.tag_immutable("prod/app", "1.0") and not backend.tag_immutable("prod/app",
                                                                                   "latest")


def test_create_on_push_race_the_repository_already_exists(backend: EcrBackend) -> None:
    create(backend, prefix="prod", appliedFor=["CREATE_ON_PUSH"], lifecyclePolicy=KEEP_ONE)
    backend.call("CreateRepository", {"repositoryName": "prod/app"})  # the learner was first
    assert backend.repository_for_push("prod/app") is True
    with pytest.raises(EcrError):  # the winner's settings stand: no policy was added
        backend.call("GetLifecyclePolicy", {"repositoryName": "prod/app"})


def test_create_on_push_refused_by_the_api_is_a_clear_denied(tmp_path: Path) -> None:
    """A template stored by an older lab with KMS encryption (which the lab refuses now): the
    push gets a DENIED naming the template and ECR's refusal, not a 500."""
    (tmp_path / "templates.json").write_text(json.dumps({"templates": [{
        "prefix": "prod", "applied_for": ["CREATE_ON_PUSH"],
        "encryption": {"encryptionType": "KMS"}}]}))
    backend = make_backend(tmp_path)
    with pytest.raises(Denied) as e:
        backend.repository_for_push("prod/app")
    [err] = json.loads(e.value.body())["errors"]
    assert err["code"] == "DENIED"
    assert err["message"].startswith("The ECR lab could not create the repository 'prod/app' "
                                     "from the repository creation template 'prod': ")
    assert "InvalidParameterException" in err["message"]
    assert not backend.repository_exists("prod/app")
