"""Repository creation templates: ECR's validation, persistence, prefix matching, and the
registry's create-on-push hook (unit level; the docker CLI test is in integration)."""

from __future__ import annotations

import json

import pytest

from labkit.lab.control.create_on_push import CreateOnPush
from labkit.lab.control.inprocess import ApiCallError
from labkit.lab.control.templates import TemplateError, TemplateStore

KEEP_ONE = json.dumps({"rules": [{"rulePriority": 1, "selection": {
    "tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
    "action": {"type": "expire"}}]})


@pytest.fixture
def store(tmp_path) -> TemplateStore:
    return TemplateStore(tmp_path / "templates.json", "123456789012", clock=lambda: 1000.0)


def test_create_describe_update_delete_and_persist(store, tmp_path):
    t = store.create({"prefix": "prod", "appliedFor": ["CREATE_ON_PUSH"],
                      "imageTagMutability": "IMMUTABLE", "lifecyclePolicy": KEEP_ONE,
                      "resourceTags": [{"Key": "team", "Value": "a"}]})
    api = t.to_api()
    assert api["prefix"] == "prod" and api["appliedFor"] == ["CREATE_ON_PUSH"]
    assert api["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert api["createdAt"] == api["updatedAt"] == 1000.0
    store.update({"prefix": "prod", "description": "production"})
    reloaded = TemplateStore(tmp_path / "templates.json", "123456789012")
    [again] = reloaded.describe()
    assert again.description == "production" and again.image_tag_mutability == "IMMUTABLE"
    assert again.lifecycle_policy == KEEP_ONE
    assert reloaded.delete("prod").prefix == "prod"
    assert TemplateStore(tmp_path / "templates.json", "1").describe() == []


def test_already_exists_and_not_found(store):
    store.create({"prefix": "prod", "appliedFor": ["REPLICATION"]})
    with pytest.raises(TemplateError) as e:
        store.create({"prefix": "prod", "appliedFor": ["CREATE_ON_PUSH"]})
    assert e.value.code == "TemplateAlreadyExistsException" and "'prod'" in e.value.message
    for op in (lambda: store.update({"prefix": "dev"}), lambda: store.delete("dev")):
        with pytest.raises(TemplateError) as e:
            op()
        assert e.value.code == "TemplateNotFoundException"
        assert e.value.message == ("The repository creation template with prefix 'dev' does "
                                   "not exist in the registry with id '123456789012'")


@pytest.mark.parametrize(("params", "code", "words"), [
    ({"prefix": "Prod", "appliedFor": ["CREATE_ON_PUSH"]}, "ValidationException",
     "Member must satisfy regular expression pattern"),
    ({"prefix": "a" * 257, "appliedFor": ["CREATE_ON_PUSH"]}, "ValidationException",
     "less than or equal to 256"),
    ({"prefix": "prod", "appliedFor": []}, "ValidationException", "must not be null"),
    ({"prefix": "prod", "appliedFor": ["ON_PULL"]}, "ValidationException", "enum value set"),
    ({"prefix": "prod", "appliedFor": ["CREATE_ON_PUSH"], "imageTagMutability": "FROZEN"},
     "ValidationException", "enum value set"),
    ({"prefix": "prod", "appliedFor": ["CREATE_ON_PUSH"],
      "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION"}, "InvalidParameterException",
     "are required"),
    ({"prefix": "prod", "appliedFor": ["CREATE_ON_PUSH"], "imageTagMutability": "MUTABLE",
      "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "dev*"}]},
     "InvalidParameterException", "can only be used"),
    ({"prefix": "prod", "appliedFor": ["CREATE_ON_PUSH"], "lifecyclePolicy": "{}"},
     "InvalidParameterException", "Lifecycle policy validation failure"),
    ({"prefix": "prod", "appliedFor": ["CREATE_ON_PUSH"], "repositoryPolicy": "nope"},
     "InvalidParameterException", "Invalid repository policy provided"),
])
def test_invalid_templates_are_refused_and_not_stored(store, params, code, words):
    with pytest.raises(TemplateError) as e:
        store.create(params)
    assert e.value.code == code and words in e.value.message
    assert store.describe() == []


@pytest.mark.parametrize("prefix", ["ROOT", "prod", "prod/team", "a.b_c--d/e__f", "prod/"])
def test_valid_prefixes(store, prefix):
    store.create({"prefix": prefix, "appliedFor": ["CREATE_ON_PUSH"]})


def test_match_longest_prefix_wins_root_catches_the_rest(store):
    for prefix in ("ROOT", "prod", "prod/team"):
        store.create({"prefix": prefix, "appliedFor": ["CREATE_ON_PUSH"]})
    store.create({"prefix": "cache", "appliedFor": ["PULL_THROUGH_CACHE"]})
    assert store.match("prod/team/api", "CREATE_ON_PUSH").prefix == "prod/team"
    assert store.match("prod/web", "CREATE_ON_PUSH").prefix == "prod"
    assert store.match("production", "CREATE_ON_PUSH").prefix == "ROOT"  # not under prod/
    assert store.match("cache/x", "CREATE_ON_PUSH").prefix == "ROOT"
    assert store.match("cache/x", "PULL_THROUGH_CACHE").prefix == "cache"
    store.delete("ROOT")
    assert store.match("production", "CREATE_ON_PUSH") is None


class RecordingApi:
    """Stands in for the lab's ECR API: records calls, can refuse the first CreateRepository."""

    def __init__(self, exists: bool = False):
        self.calls: list[tuple[str, dict]] = []
        self.exists = exists

    def __call__(self, action: str, params: dict) -> dict:
        self.calls.append((action, params))
        if action == "CreateRepository" and self.exists:
            raise ApiCallError("RepositoryAlreadyExistsException", "exists")
        return {}


def test_create_on_push_uses_the_template_settings(store):
    store.create({"prefix": "prod", "appliedFor": ["CREATE_ON_PUSH"],
                  "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
                  "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD",
                                                          "filter": "latest"}],
                  "lifecyclePolicy": KEEP_ONE, "repositoryPolicy": '{"Version": "2012-10-17"}',
                  "resourceTags": [{"Key": "team", "Value": "a"}]})
    api = RecordingApi()
    factory = CreateOnPush(store, api)
    assert factory("dev/app") is False and api.calls == []
    assert factory("prod/app") is True
    [(create, params), (put_policy, lp), (set_policy, rp)] = api.calls
    assert create == "CreateRepository" and params["repositoryName"] == "prod/app"
    assert params["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert params["imageTagMutabilityExclusionFilters"] == [
        {"filterType": "WILDCARD", "filter": "latest"}]
    assert params["tags"] == [{"Key": "team", "Value": "a"}]
    assert (put_policy, lp["lifecyclePolicyText"]) == ("PutLifecyclePolicy", KEEP_ONE)
    assert set_policy == "SetRepositoryPolicy"


def test_create_on_push_race_the_repository_already_exists(store):
    store.create({"prefix": "prod", "appliedFor": ["CREATE_ON_PUSH"],
                  "lifecyclePolicy": KEEP_ONE})
    api = RecordingApi(exists=True)
    assert CreateOnPush(store, api)("prod/app") is True
    assert [a for a, _ in api.calls] == ["CreateRepository"]  # the winner set the policy


def test_create_on_push_refused_by_the_api_is_a_clear_denied(store):
    from labkit.lab.registry.errors import Denied

    store.create({"prefix": "prod", "appliedFor": ["CREATE_ON_PUSH"]})

    def refuse(action: str, params: dict) -> dict:
        raise ApiCallError("LimitExceededException", "too many repositories")

    with pytest.raises(Denied) as e:
        CreateOnPush(store, refuse)("prod/app")
    [err] = json.loads(e.value.body())["errors"]
    assert err["code"] == "DENIED"
    assert "template 'prod'" in err["message"] and "LimitExceededException" in err["message"]
