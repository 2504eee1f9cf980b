"""Table-driven, for EVERY operation of botocore's ECR model and every `/v2/` route: an identity
without the permission is denied with ECR's sentence, one with exactly that permission is
allowed. API calls go through real boto3 clients to the in-test server."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from labkit.lab.access import AccessControl, RegistryRefusal
from labkit.lab.access.actions import REGISTRY_ACTIONS, operation_scopes, registry_targets
from labkit.lab.auth.signing import Signer
from labkit.oci.routes import METHODS
from tests.unit.access.harness import Lab, new_account, serve

REPO = "team/app"
# Operations with no resource type (IAM service authorization reference: policies must say
# "Resource": "*"): registry-wide settings, policies, caches, templates, tokens.
REGISTRY_LEVEL = {
    "GetAuthorizationToken", "DescribeRegistry", "GetRegistryPolicy", "PutRegistryPolicy",
    "DeleteRegistryPolicy", "GetRegistryScanningConfiguration",
    "PutRegistryScanningConfiguration", "PutReplicationConfiguration",
    "CreatePullThroughCacheRule", "DeletePullThroughCacheRule", "DescribePullThroughCacheRules",
    "UpdatePullThroughCacheRule", "ValidatePullThroughCacheRule",
    "CreateRepositoryCreationTemplate", "DeleteRepositoryCreationTemplate",
    "DescribeRepositoryCreationTemplates", "UpdateRepositoryCreationTemplate",
    "GetAccountSetting", "PutAccountSetting", "PutSigningConfiguration",
    "GetSigningConfiguration", "DeleteSigningConfiguration", "RegisterPullTimeUpdateExclusion",
    "DeregisterPullTimeUpdateExclusion", "ListPullTimeUpdateExclusions",
    "DescribeReplicationBackfillResults", "ListReplicationBackfills",
    "StartReplicationBackfill", "StopReplicationBackfill"}
OPERATIONS = sorted(operation_scopes())


def expected_resource(op: str, account: str) -> str:
    repo = f"arn:aws:ecr:us-east-1:{account}:repository/{REPO}"
    if op in REGISTRY_LEVEL:
        return "*"
    return repo  # ...repository/team/app: named by repositoryName, repositoryNames or the ARN


def test_every_operation_is_classified() -> None:
    """The model's operations are either repository-level (they name a repository) or in the
    documented registry-level set: a new operation in botocore fails here until placed."""
    scopes = operation_scopes()
    assert {op for op, s in scopes.items() if s == "registry"} == REGISTRY_LEVEL
    assert scopes["DescribeRepositories"] == "repositories"
    assert scopes["TagResource"] == scopes["ListTagsForResource"] == "arn"


# --- minimal valid input for any operation, from botocore's own model -------------------------

def _value(shape: Any, name: str, account: str) -> Any:
    if name == "repositoryName":
        return REPO
    if name == "repositoryNames":
        return [REPO]
    if name == "resourceArn":
        return f"arn:aws:ecr:us-east-1:{account}:repository/{REPO}"
    t = shape.type_name
    if t == "structure":
        wanted = [m for m in shape.members
                  if m in shape.required_members or m == "repositoryNames"]
        return {m: _value(shape.members[m], m, account) for m in wanted}
    if t == "list":
        return [_value(shape.member, name, account)
                for _ in range(max(1, shape.metadata.get("min", 1)))]
    if t == "map":
        return {}
    if t == "string":
        if shape.enum:
            return shape.enum[0]
        return "x" * max(1, shape.metadata.get("min", 1))
    if t in ("integer", "long"):
        return max(1, shape.metadata.get("min", 1))
    if t == "boolean":
        return False
    if t == "blob":
        return b"x"
    if t == "timestamp":
        return dt.datetime(2030, 1, 1)
    if t in ("float", "double"):
        return 1.0
    raise AssertionError(f"no sample for {t}")


def params_for(client: Any, op: str, account: str) -> dict[str, Any]:
    model = client.meta.service_model.operation_model(op)
    if model.input_shape is None:
        return {}
    return _value(model.input_shape, "", account)


def call(client: Any, op: str, account: str) -> None:
    method = client.meta.method_to_api_mapping
    name = next(k for k, v in method.items() if v == op)
    getattr(client, name)(**params_for(client, op, account))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    home = tmp_path_factory.mktemp("lab")
    control = AccessControl(home, Signer(b"k" * 32), "lab", account=new_account())
    yield from serve(control, home)


@pytest.fixture(scope="module")
def nobody(lab: Lab) -> Any:
    iam = lab.client("iam")
    iam.create_user(UserName="nobody")
    key = iam.create_access_key(UserName="nobody")["AccessKey"]
    return lab.client("ecr", key["AccessKeyId"], key["SecretAccessKey"])


@pytest.fixture(scope="module")
def granted(lab: Lab) -> Any:
    """A user allowed exactly one action per operation, on exactly its resource."""
    iam = lab.client("iam")
    iam.create_user(UserName="granted")
    statements = [{"Effect": "Allow", "Action": f"ecr:{op}",
                   "Resource": expected_resource(op, lab.account)} for op in OPERATIONS]
    for i in range(0, len(statements), 20):  # several inline policies: each stays small
        iam.put_user_policy(UserName="granted", PolicyName=f"ops-{i}", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": statements[i:i + 20]}))
    key = iam.create_access_key(UserName="granted")["AccessKey"]
    return lab.client("ecr", key["AccessKeyId"], key["SecretAccessKey"])


@pytest.mark.parametrize("op", OPERATIONS)
def test_without_permission_denied_with_ecrs_sentence(lab: Lab, nobody: Any, op: str) -> None:
    with pytest.raises(ClientError) as e:
        call(nobody, op, lab.account)
    err = e.value.response["Error"]
    resource = expected_resource(op, lab.account)
    assert err["Code"] == "AccessDeniedException"
    assert err["Message"] == (
        f"User: arn:aws:iam::{lab.account}:user/nobody is not authorized to perform: ecr:{op} "
        f"on resource: {resource} because no identity-based policy allows the ecr:{op} action")


@pytest.mark.parametrize("op", OPERATIONS)
def test_with_permission_allowed(lab: Lab, granted: Any, op: str) -> None:
    try:
        call(granted, op, lab.account)  # the stub answers {} once authorized
    except ClientError as e:  # ...or refuses the sample input itself (SetRepositoryPolicy's "x")
        assert e.response["Error"]["Code"] != "AccessDeniedException", e


def test_describe_repositories_without_names_is_on_repository_star(lab: Lab,
                                                                   nobody: Any) -> None:
    with pytest.raises(ClientError) as e:
        nobody.describe_repositories()
    assert f"on resource: arn:aws:ecr:us-east-1:{lab.account}:repository/* because" in (
        e.value.response["Error"]["Message"])


# --- the registry ----------------------------------------------------------------------------

ROUTES = sorted((route, method) for route, methods in METHODS.items() for method in methods
                if route not in ("base", "storage"))


def test_every_registry_route_maps_to_actions() -> None:
    assert set(ROUTES) == set(REGISTRY_ACTIONS)
    assert registry_targets("base", "GET", None, account="1" * 12, region="us-east-1") == []
    docker_push = {a for r in [("blob", "HEAD"), ("upload", "POST"), ("upload", "PATCH"),
                               ("upload", "PUT"), ("manifest", "PUT")]
                   for a in REGISTRY_ACTIONS[r]}
    assert docker_push == {"BatchCheckLayerAvailability", "InitiateLayerUpload",
                           "UploadLayerPart", "CompleteLayerUpload", "PutImage"}


@pytest.mark.parametrize("route,method", ROUTES)
def test_registry_route_denied_then_allowed(lab: Lab, route: str, method: str) -> None:
    control = lab.control
    actions = REGISTRY_ACTIONS[(route, method)]
    iam = lab.client("iam")
    user = f"reg-{route}-{method}".lower()
    iam.create_user(UserName=user)
    principal = control.store.caller(
        iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]).principal
    resource = (f"arn:aws:ecr:us-east-1:{lab.account}:repository/*" if route == "catalog"
                else f"arn:aws:ecr:us-east-1:{lab.account}:repository/{REPO}")
    with pytest.raises(RegistryRefusal) as e:
        control.authorize_registry(principal, route, method, REPO, account=lab.account,
                                   region="us-east-1")
    assert (e.value.status, e.value.code) == (403, "DENIED")
    assert e.value.message == (
        f"User: {principal.arn} is not authorized to perform: ecr:{actions[0]} on resource: "
        f"{resource} because no identity-based policy allows the ecr:{actions[0]} action")
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                                                "Action": [f"ecr:{a}" for a in actions],
                                                "Resource": resource}]}))
    control.authorize_registry(principal, route, method, REPO, account=lab.account,
                               region="us-east-1")


def test_monolithic_upload_and_mount_need_more(lab: Lab) -> None:
    targets = registry_targets("upload", "PUT", REPO, account=lab.account, region="us-east-1",
                               has_body=True)
    assert [t.action for t in targets] == ["ecr:UploadLayerPart", "ecr:CompleteLayerUpload"]
    mount = registry_targets("upload", "POST", REPO, account=lab.account, region="us-east-1",
                             mount_from="base/os")
    assert [(t.action, t.repository) for t in mount] == [
        ("ecr:InitiateLayerUpload", REPO), ("ecr:GetDownloadUrlForLayer", "base/os")]


def test_boto3_is_real() -> None:
    assert boto3.__name__ == "boto3" and Path(boto3.__file__).exists()
