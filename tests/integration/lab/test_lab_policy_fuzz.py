"""Fuzzed policy documents against a running lab, with boto3 (issue 19): the unit tests' policy
strategy (tests/unit/access/test_policies.py: any JSON, near-valid statements, odd principals
and conditions), plus invalid JSON, wrong types and huge documents, sent as a repository
policy, a registry policy, an IAM user policy and a role's trust policy. Each is accepted or
refused with the receiving service's own error code (never a 500), a refused one changes
nothing, and the lab keeps serving."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit import config
from tests.unit.access.test_policies import documents

REPO = "fuzzed/policies"
# What each service answers a bad document with (ECR's and IAM's documented error codes)
REFUSALS = {
    "ecr": {"InvalidParameterException", "ValidationException"},
    "iam": {"MalformedPolicyDocument", "MalformedPolicyDocumentException", "ValidationError",
            "LimitExceeded"},
}
texts = st.one_of(
    documents.map(json.dumps),
    st.text(max_size=200),  # mostly not JSON at all
    st.sampled_from(["", " ", "{", "[]", "null", "1e999", '{"Statement": "x" }', "\x00{}",
                     json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "x" * 20000}]}),
                     "[" * 5000 + "]" * 5000]),
)


@pytest.fixture()
def clients(private_lab: Any) -> dict[str, Any]:
    lab = private_lab

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=lab.endpoint_url, region_name=lab.region,
                            aws_access_key_id=config.LAB_ACCESS_KEY,
                            aws_secret_access_key=config.LAB_SECRET_KEY)

    ecr, iam = client("ecr"), client("iam")
    ecr.create_repository(repositoryName=REPO)
    iam.create_user(UserName="fuzzed")
    return {"lab": lab, "ecr": ecr, "iam": iam, "roles": 0, "seen": set()}


def _send(clients: dict[str, Any], kind: str, text: str) -> tuple[str, str]:
    """(service, error code or "ok") of one document sent as `kind`."""
    ecr, iam = clients["ecr"], clients["iam"]
    calls = {
        "repository": ("ecr", lambda: ecr.set_repository_policy(repositoryName=REPO,
                                                                 policyText=text)),
        "registry": ("ecr", lambda: ecr.put_registry_policy(policyText=text)),
        "identity": ("iam", lambda: iam.put_user_policy(UserName="fuzzed", PolicyName="p",
                                                        PolicyDocument=text)),
        "trust": ("iam", lambda: iam.create_role(RoleName=f"r{clients['roles']}",
                                                 AssumeRolePolicyDocument=text)),
    }
    service, call = calls[kind]
    try:
        call()
    except ClientError as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] < 500, (kind, e.response)
        return service, str(e.response["Error"]["Code"])
    except Exception as e:  # noqa: BLE001 - botocore's own refusals before sending are fine
        if type(e).__name__ in ("ParamValidationError",):
            return service, "client-side"
        raise
    if kind == "trust":
        clients["roles"] += 1
    return service, "ok"


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=texts, kind=st.sampled_from(["repository", "registry", "identity", "trust"]))
def fuzzed_policy(clients: dict[str, Any], text: str, kind: str) -> None:
    """One document: accepted, or refused with the service's code; a refused repository
    policy leaves the one before it in place."""
    before = _policy(clients["ecr"])
    service, code = _send(clients, kind, text)
    clients["seen"].add((kind, code))
    assert code in ("ok", "client-side") or code in REFUSALS[service], (kind, code, text[:200])
    if kind == "repository" and code != "ok":
        assert _policy(clients["ecr"]) == before


def _policy(ecr: Any) -> str | None:
    try:
        return str(ecr.get_repository_policy(repositoryName=REPO)["policyText"])
    except ClientError as e:
        assert e.response["Error"]["Code"] == "RepositoryPolicyNotFoundException"
        return None


def test_fuzzed_policy_documents_get_the_services_errors_and_the_lab_keeps_serving(
        clients: dict[str, Any]) -> None:
    fuzzed_policy(clients)
    seen = clients["seen"]
    # the fuzz reached each service's validator: each kind was refused by the lab itself
    assert {k for k, code in seen if code not in ("ok", "client-side")} == {
        "repository", "registry", "identity", "trust"}, sorted(seen)
    ecr = clients["ecr"]
    assert ecr.describe_repositories(repositoryNames=[REPO])["repositories"]
    # a valid document still goes in after all that
    valid = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "pull", "Effect": "Allow", "Principal": {"AWS": clients["lab"].account_id},
        "Action": ["ecr:BatchGetImage"]}]})
    ecr.set_repository_policy(repositoryName=REPO, policyText=valid)
    assert json.loads(_policy(ecr) or "{}")["Statement"][0]["Sid"] == "pull"
