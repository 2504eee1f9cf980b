"""Policy documents are validated with the receiving service's own messages, and no input, however
odd, escapes as anything but PolicyError."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.lab.access import messages as M
from labkit.lab.access.policies import Kind, PolicyError, parse

A, B = "111111111111", "222222222222"
KNOWN = {f"arn:aws:iam::{A}:user/ci", f"arn:aws:iam::{A}:role/deployer", A, B,
         f"arn:aws:iam::{A}:root", f"arn:aws:iam::{B}:root"}


def exists(entry: str) -> bool:
    return entry in KNOWN


def repo(statement: dict[str, Any] | list[Any], **top: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statement, **top})


PULL = {"Sid": "AllowPull", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}


def refusal(text: Any, kind: Kind = Kind.REPOSITORY) -> PolicyError:
    with pytest.raises(PolicyError) as e:
        parse(text, kind, exists)
    return e.value


# ECR's documented examples (repository-policy-examples.md, repository-policies.md) are accepted
DOC_EXAMPLES = [
    repo([{"Sid": "AllowPushPull", "Effect": "Allow",
           "Principal": {"AWS": [f"arn:aws:iam::{A}:user/ci", f"arn:aws:iam::{A}:role/deployer"]},
           "Action": ["ecr:BatchGetImage", "ecr:BatchCheckLayerAvailability",
                      "ecr:CompleteLayerUpload", "ecr:GetDownloadUrlForLayer",
                      "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"]}]),
    repo([{"Sid": "DenyPull", "Effect": "Deny", "Principal": "*",
           "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]),
    repo([{"Sid": "IPAllow", "Effect": "Deny", "Principal": "*", "Action": "ecr:*",
           "Condition": {"NotIpAddress": {"aws:SourceIp": "54.240.143.0/24"}}}],
         Id="ECRPolicyId1"),
    repo({"Sid": "ECR Repository Policy", "Effect": "Allow", "Principal": {"AWS": A},
          "Action": ["ecr:DescribeImages", "ecr:DescribeRepositories"]}),
]
# A repository policy names no Resource, not even "*": the user guide's IP example had one
# until awsdocs/amazon-ecr-user-guide#20 removed it because ECR refused it with 'Invalid
# repository policy provided' (also aws/aws-cdk#3590 for "*", aws/aws-cdk#24314 for an ARN)
NAMING_A_RESOURCE = [
    repo([{**PULL, "Resource": "*"}]),
    repo([{**PULL, "Resource": [f"arn:aws:ecr:us-east-1:{A}:repository/app"]}]),
    repo([{**PULL, "NotResource": f"arn:aws:ecr:us-east-1:{A}:repository/other"}]),
]


@pytest.mark.parametrize("text", DOC_EXAMPLES)
def test_documented_repository_policies_are_accepted(text: str) -> None:
    policy = parse(text, Kind.REPOSITORY, exists)
    assert policy.statements and all(s.effect in ("Allow", "Deny") for s in policy.statements)


@pytest.mark.parametrize("text", [
    "[]", "{}", "null", "not json", '{"Statement": []}', repo([{**PULL, "Effect": "Maybe"}]),
    repo([{k: v for k, v in PULL.items() if k != "Principal"}]),  # the audit, item 1
    repo([{k: v for k, v in PULL.items() if k != "Action"}]),
    repo([{**PULL, "NotAction": "ecr:PutImage"} | {"Action": "ecr:*"}]),
    repo([{**PULL, "Action": "ecr:GetAuthorizationToken"}]),  # cloudposse/terraform-aws-ecr#67
    repo([{**PULL, "Action": "s3:GetObject"}]), repo([{**PULL, "Action": ["ecr:Put Image"]}]),
    repo([{**PULL, "Resource": "arn:aws:s3:::bucket"}]), repo([PULL, PULL]), *NAMING_A_RESOURCE,
    repo([{**PULL, "Principal": {"AWS": "arn:aws:iam::*:root"}}]),
    repo([{**PULL, "Principal": {"AWS": "nobody"}}]), repo([{**PULL, "Unknown": 1}]),
    repo([{**PULL, "Condition": {"StringEqualz": {"aws:username": "x"}}}]),
    repo([{**PULL, "Condition": {"StringEquals": {"aws:username": None}}}]),
    repo([PULL], Version="2020-01-01"), repo([PULL], Extra=True),
    json.dumps({"Version": "2012-10-17", "Statement": PULL, "Id": 7}),
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", '
    '"Action": "ecr:ListImages", "Condition": {"NumericEquals": {"k": NaN}}}]}',
])
def test_invalid_repository_policies_get_ecrs_message(text: str) -> None:
    e = refusal(text)
    assert (e.code, e.message) == ("InvalidParameterException",
                                   "Invalid parameter at 'PolicyText' failed to satisfy "
                                   "constraint: 'Invalid repository policy provided'")


def test_unknown_principal_is_principal_not_found() -> None:
    e = refusal(repo([{**PULL, "Principal": {"AWS": f"arn:aws:iam::{A}:user/nobody"}}]))
    assert e.message == ("Invalid parameter at 'PolicyText' failed to satisfy constraint: "
                         "'Principal not found'")
    e = refusal(repo([{**PULL, "Principal": {"AWS": ["333333333333"]}}]))
    assert e.template is M.PRINCIPAL_NOT_FOUND


def test_policy_text_length_limit_is_ecrs_model() -> None:
    long = repo([{**PULL, "Sid": "x" * 10300}])
    e = refusal(long)
    assert e.code == "ValidationException"
    assert e.message.endswith("failed to satisfy constraint: Member must have length less than "
                              "or equal to 10240")


def test_registry_policy_rules() -> None:
    ok = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "ReplicationAccessCrossAccount", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
         "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
         "Resource": [f"arn:aws:ecr:us-west-2:{A}:repository/prod-*"]}]})
    assert parse(ok, Kind.REGISTRY, exists).statements[0].actions == (
        "ecr:CreateRepository", "ecr:ReplicateImage")
    for bad in ("{}", ok.replace("ecr:ReplicateImage", "ecr:PutImage"),
                ok.replace('"Resource"', '"NotResource"')):
        e = refusal(bad, Kind.REGISTRY)
        assert e.message == ("Invalid parameter at 'PolicyText' failed to satisfy constraint: "
                             "'Invalid registry policy provided'")


IDENTITY_OK = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
    {"Effect": "Allow", "Action": ["ecr:BatchGetImage"], "Resource":
     f"arn:aws:ecr:*:{A}:repository/${{aws:username}}/*"}]})


def test_identity_policies_use_iams_messages() -> None:
    assert len(parse(IDENTITY_OK, Kind.IDENTITY).statements) == 2
    cases = {
        "nonsense": "Syntax errors in policy.",
        json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "ecr:*", "Resource": "*"}]}):
            "Policy document should not specify a principal.",
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                                                            "Action": "ecr:*"}]}):
            "Policy statement must contain resources.",
        json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "my-bucket"}]}):
            'Resource my-bucket must be in ARN format or "*".',
    }
    for text, message in cases.items():
        e = refusal(text, Kind.IDENTITY)
        assert (e.code, e.message) == ("MalformedPolicyDocument", message)


def test_trust_policy_needs_a_principal_and_no_resource() -> None:
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
         "Action": "sts:AssumeRole"}]}
    assert parse(json.dumps(trust), Kind.TRUST, exists).statements[0].principal.aws == (
        f"arn:aws:iam::{A}:root",)
    trust["Statement"][0]["Resource"] = "*"
    assert refusal(json.dumps(trust), Kind.TRUST).code == "MalformedPolicyDocument"


def test_conditions_are_normalised() -> None:
    text = repo([{**PULL, "Condition": {
        "ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["team*", "env"]},
        "Bool": {"aws:SecureTransport": False}, "NumericLessThan": {"k": 3}}}])
    cs = parse(text, Kind.REPOSITORY, exists).statements[0].conditions
    assert [(c.operator, c.qualifier, c.if_exists, c.key, c.values) for c in cs] == [
        ("stringlike", "foranyvalue", True, "aws:tagkeys", ("team*", "env")),
        ("bool", None, False, "aws:securetransport", ("false",)),
        ("numericlessthan", None, False, "k", ("3",))]


# --- fuzzing ------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4), max_leaves=25)
keys = st.sampled_from(["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
                        "Resource", "NotResource", "Condition", "Bogus"])
near_values = st.one_of(
    json_values, st.sampled_from(["Allow", "Deny", "*", "ecr:*", "ecr:PutImage", A,
                                  f"arn:aws:iam::{A}:root", f"arn:aws:iam::{A}:user/nobody"]),
    st.fixed_dictionaries({"AWS": st.sampled_from([A, "*", "x", [], [A, None]])}),
    st.dictionaries(st.sampled_from(["StringEquals", "IpAddress", "Null", "DateLessThan",
                                     "ForAllValues:ArnLike", "Bool"]),
                    st.dictionaries(st.sampled_from(["aws:SourceIp", "aws:username"]),
                                    json_values, max_size=2), max_size=2))
statements = st.dictionaries(keys, near_values, max_size=7)
documents = st.one_of(
    json_values,
    st.fixed_dictionaries({"Version": st.sampled_from(["2012-10-17", "2008-10-17", 1, None]),
                           "Statement": st.one_of(statements, st.lists(statements,
                                                                       max_size=3))}))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(doc=documents, kind=st.sampled_from(list(Kind)))
def test_fuzzed_documents_get_a_message_never_a_crash(doc: Any, kind: Kind) -> None:
    text = json.dumps(doc)
    try:
        policy = parse(text, kind, exists)
    except PolicyError as e:
        assert e.message and e.code
        assert e.template in M.CATALOG.values()
    else:
        assert policy.statements


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=300) | st.text(max_size=300))
def test_fuzzed_bytes_and_text(raw: bytes | str) -> None:
    try:
        parse(raw, Kind.REPOSITORY, exists)
    except PolicyError as e:
        assert e.message


def test_huge_and_deep_documents() -> None:
    deep = "[" * 100000 + "]" * 100000
    assert refusal(deep, Kind.IDENTITY).template is M.IAM_SYNTAX
    assert refusal(deep).template is M.POLICY_TOO_LONG
    nested = '{"Version":"2012-10-17","Statement":' + "[" * 2000 + "]" * 2000 + "}"
    assert refusal(nested, Kind.IDENTITY).template is M.IAM_SYNTAX
