"""Policy evaluation as the IAM user guide describes it, and ECR's denial sentences."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.lab.access.actions import api_targets, operation_scopes
from labkit.lab.access.evaluate import Decision, condition_holds, evaluate
from labkit.lab.access.policies import Kind, Policy, parse
from labkit.lab.access.principals import Principal

A, B = "111111111111", "222222222222"
REPO = f"arn:aws:ecr:us-east-1:{A}:repository/team/app"
ALICE = Principal.user(A, "alice", "AIDAALICE")
BOB_B = Principal.user(B, "bob", "AIDABOB")
SESSION = Principal.role_session(A, "ci", "GitHubActions", "AROACI", path="/build/")


def identity(*statements: dict[str, Any]) -> Policy:
    return parse(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),
                 Kind.IDENTITY)


def resource(*statements: dict[str, Any]) -> Policy:
    return parse(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),
                 Kind.REPOSITORY)


ALLOW_ALL = identity({"Effect": "Allow", "Action": "*", "Resource": "*"})
PULL_ONLY = identity({"Effect": "Allow", "Action": ["ecr:BatchGetImage",
                                                    "ecr:GetDownloadUrlForLayer"],
                      "Resource": "*"})


def decide(principal: Principal = ALICE, action: str = "ecr:PutImage", res: str = REPO,
           ctx: dict[str, list[str]] | None = None, **kw: Any) -> Decision:
    kw.setdefault("resource_account", A)
    return evaluate(principal, action, res, ctx or {}, **kw)


def test_nothing_allows_is_implicit_identity_denial() -> None:
    d = decide()
    assert d is Decision.NO_IDENTITY_ALLOW and not d.allowed
    assert d.explain(ALICE.arn, "ecr:PutImage", REPO) == (
        f"User: arn:aws:iam::{A}:user/alice is not authorized to perform: ecr:PutImage on "
        f"resource: {REPO} because no identity-based policy allows the ecr:PutImage action")


def test_identity_allow() -> None:
    assert decide(identity=[ALLOW_ALL]).allowed
    assert not decide(identity=[PULL_ONLY]).allowed
    assert decide(action="ecr:batchgetimage", identity=[PULL_ONLY]).allowed  # case-insensitive


@pytest.mark.parametrize("pattern,allowed", [
    ("ecr:*", True), ("ecr:Put*", True), ("ecr:P?tImage", True), ("ecr:Get*", False),
    ("*", True), ("s3:*", False), ("ECR:PUTIMAGE", True)])
def test_action_wildcards(pattern: str, allowed: bool) -> None:
    pol = identity({"Effect": "Allow", "Action": pattern, "Resource": "*"})
    assert decide(identity=[pol]).allowed is allowed


@pytest.mark.parametrize("pattern,allowed", [
    (REPO, True), (f"arn:aws:ecr:us-east-1:{A}:repository/team/*", True),
    (f"arn:aws:ecr:*:{A}:repository/*", True), (f"arn:aws:ecr:us-east-1:{A}:repository/t?am/app",
                                                True),
    (f"arn:aws:ecr:us-east-1:{A}:repository/TEAM/app", False),  # ARNs are case-sensitive
    (f"arn:aws:ecr:eu-west-1:{A}:repository/*", False), (f"arn:aws:ecr:*:{B}:*", False)])
def test_resource_wildcards(pattern: str, allowed: bool) -> None:
    pol = identity({"Effect": "Allow", "Action": "ecr:*", "Resource": pattern})
    assert decide(identity=[pol]).allowed is allowed


def test_not_action_and_not_resource() -> None:
    pol = identity({"Effect": "Allow", "NotAction": "ecr:Delete*", "Resource": "*"},
                   {"Effect": "Allow", "Action": "ecr:DeleteRepository",
                    "NotResource": f"arn:aws:ecr:*:{A}:repository/team/*"})
    assert decide(identity=[pol]).allowed
    assert not decide(action="ecr:DeleteRepository", identity=[pol]).allowed
    assert decide(action="ecr:DeleteRepository", res=REPO.replace("team/app", "other"),
                  identity=[pol]).allowed


def test_explicit_deny_wins_everywhere() -> None:
    deny = identity({"Effect": "Deny", "Action": "ecr:PutImage", "Resource": "*"})
    d = decide(identity=[ALLOW_ALL, deny])
    assert d is Decision.EXPLICIT_IDENTITY
    assert d.explain(ALICE.arn, "ecr:PutImage", REPO).endswith(
        "with an explicit deny in an identity-based policy")
    repo_deny = resource({"Effect": "Deny", "Principal": "*", "Action": "ecr:*"})
    d = decide(identity=[ALLOW_ALL], resource_policy=repo_deny)
    assert d is Decision.EXPLICIT_RESOURCE
    assert d.explain(ALICE.arn, "ecr:PutImage", REPO).endswith(
        "with an explicit deny in a resource-based policy")
    # both deny: the identity-based policy is named (docs/access.md)
    assert decide(identity=[deny], resource_policy=repo_deny) is Decision.EXPLICIT_IDENTITY


def test_same_account_resource_policy_alone_allows_when_it_names_the_caller() -> None:
    by_user = resource({"Effect": "Allow", "Principal": {"AWS": ALICE.arn}, "Action": "ecr:*"})
    assert decide(resource_policy=by_user).allowed
    by_star = resource({"Effect": "Allow", "Principal": "*", "Action": "ecr:PutImage"})
    assert decide(resource_policy=by_star).allowed
    by_role = resource({"Effect": "Allow", "Principal": {"AWS": SESSION.role_arn},
                        "Action": "ecr:*"})
    assert decide(SESSION, resource_policy=by_role).allowed
    assert SESSION.role_arn == f"arn:aws:iam::{A}:role/build/ci"
    # naming the account delegates to the account's identity-based policies
    by_account = resource({"Effect": "Allow", "Principal": {"AWS": A}, "Action": "ecr:*"})
    assert decide(resource_policy=by_account) is Decision.NO_IDENTITY_ALLOW
    assert decide(identity=[ALLOW_ALL], resource_policy=by_account).allowed


def test_cross_account_needs_both_sides() -> None:
    grant_b = resource({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
                        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]})
    pull = "ecr:BatchGetImage"
    assert decide(BOB_B, pull, identity=[ALLOW_ALL], resource_policy=grant_b).allowed
    d = decide(BOB_B, pull, identity=[ALLOW_ALL])  # no repository policy
    assert d is Decision.NO_RESOURCE_ALLOW
    assert d.explain(BOB_B.arn, pull, REPO) == (
        f"User: arn:aws:iam::{B}:user/bob is not authorized to perform: ecr:BatchGetImage on "
        f"resource: {REPO} because no resource-based policy allows the ecr:BatchGetImage action")
    assert decide(BOB_B, pull, resource_policy=grant_b) is Decision.NO_IDENTITY_ALLOW
    assert decide(BOB_B, pull) is Decision.NO_IDENTITY_ALLOW  # neither: identity named
    assert decide(BOB_B, "ecr:PutImage", identity=[ALLOW_ALL],
                  resource_policy=grant_b) is Decision.NO_RESOURCE_ALLOW


def test_not_principal() -> None:
    deny_others = resource({"Effect": "Deny", "NotPrincipal": {"AWS": ALICE.arn},
                            "Action": "ecr:*"})
    assert decide(identity=[ALLOW_ALL], resource_policy=deny_others).allowed
    assert decide(SESSION, identity=[ALLOW_ALL],
                  resource_policy=deny_others) is Decision.EXPLICIT_RESOURCE


def test_root_may_do_anything_in_its_own_account_only() -> None:
    root = Principal.root(A)
    assert root.arn == f"arn:aws:iam::{A}:root"
    assert decide(root).allowed
    assert decide(Principal.root(B)) is Decision.NO_RESOURCE_ALLOW
    repo_deny = resource({"Effect": "Deny", "Principal": "*", "Action": "ecr:*"})
    assert decide(root, resource_policy=repo_deny) is Decision.EXPLICIT_RESOURCE


def test_session_policy_limits_the_role() -> None:
    d = decide(SESSION, identity=[ALLOW_ALL], session_policy=PULL_ONLY)
    assert d is Decision.NO_SESSION_ALLOW
    assert d.explain(SESSION.arn, "ecr:PutImage", REPO).endswith(
        "because no session policy allows the ecr:PutImage action")
    assert decide(SESSION, "ecr:BatchGetImage", identity=[ALLOW_ALL],
                  session_policy=PULL_ONLY).allowed


def test_get_authorization_token_on_star() -> None:
    d = decide(SESSION, "ecr:GetAuthorizationToken", "*", identity=[PULL_ONLY],
               resource_account=None)
    assert d.explain(SESSION.arn, "ecr:GetAuthorizationToken", "*") == (
        f"User: arn:aws:sts::{A}:assumed-role/ci/GitHubActions is not authorized to perform: "
        "ecr:GetAuthorizationToken on resource: * because no identity-based policy allows the "
        "ecr:GetAuthorizationToken action")


def test_policy_variables_in_resources() -> None:
    pol = identity({"Effect": "Allow", "Action": "ecr:*",
                    "Resource": f"arn:aws:ecr:*:{A}:repository/${{aws:username}}/*"})
    mine = f"arn:aws:ecr:us-east-1:{A}:repository/alice/app"
    assert decide(res=mine, identity=[pol], ctx={"aws:username": ["alice"]}).allowed
    assert not decide(identity=[pol], ctx={"aws:username": ["alice"]}).allowed
    assert not decide(res=mine, identity=[pol]).allowed  # key absent: matches nothing
    star = identity({"Effect": "Allow", "Action": "ecr:*",
                     "Resource": f"arn:aws:ecr:*:{A}:repository/${{aws:username}}"})
    literal = f"arn:aws:ecr:us-east-1:{A}:repository/*"
    assert decide(res=literal, identity=[star], ctx={"aws:username": ["*"]}).allowed
    assert not decide(res=REPO, identity=[star], ctx={"aws:username": ["*"]}).allowed


# --- conditions ---------------------------------------------------------------------------

def holds(op: str, key: str, values: Any, ctx: dict[str, list[str]]) -> bool:
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
           "Action": "ecr:*", "Condition": {op: {key: values}}}]}
    cond = parse(json.dumps(doc), Kind.REPOSITORY).statements[0].conditions[0]
    return condition_holds(cond, {k.lower(): v for k, v in ctx.items()})


@pytest.mark.parametrize("op,key,values,ctx,expected", [
    ("StringEquals", "aws:username", "alice", {"aws:username": ["alice"]}, True),
    ("StringEquals", "aws:username", "alice", {"aws:username": ["Alice"]}, False),
    ("StringEquals", "aws:username", "alice", {}, False),
    ("StringNotEquals", "aws:username", "alice", {}, True),
    ("StringNotEquals", "aws:username", ["alice", "bob"], {"aws:username": ["bob"]}, False),
    ("StringEqualsIgnoreCase", "aws:username", "ALICE", {"aws:username": ["alice"]}, True),
    ("StringLike", "aws:PrincipalArn", "arn:aws:iam::*:role/ci-*",
     {"aws:PrincipalArn": [f"arn:aws:iam::{A}:role/ci-main"]}, True),
    ("StringNotLike", "aws:userid", "AIDA*", {"aws:userid": ["AROA:x"]}, True),
    ("StringEqualsIfExists", "aws:username", "alice", {}, True),
    ("StringEqualsIfExists", "aws:username", "alice", {"aws:username": ["bob"]}, False),
    ("ArnLike", "aws:PrincipalArn", f"arn:aws:iam::{A}:role/*",
     {"aws:PrincipalArn": [SESSION.role_arn]}, True),
    ("ArnEquals", "aws:PrincipalArn", f"arn:aws:iam::{A}:user/alice",
     {"aws:PrincipalArn": [ALICE.arn]}, True),
    ("ArnNotLike", "aws:PrincipalArn", f"arn:aws:iam::{B}:*",
     {"aws:PrincipalArn": [ALICE.arn]}, True),
    ("ArnLike", "aws:PrincipalArn", "not-an-arn", {"aws:PrincipalArn": [ALICE.arn]}, False),
    ("Bool", "aws:SecureTransport", False, {"aws:SecureTransport": ["false"]}, True),
    ("Bool", "aws:SecureTransport", "true", {"aws:SecureTransport": ["false"]}, False),
    ("Null", "aws:PrincipalOrgID", "true", {}, True),
    ("Null", "aws:PrincipalOrgID", "false", {}, False),
    ("Null", "aws:RequestTag/team", "false", {"aws:RequestTag/team": ["x"]}, True),
    ("NumericLessThan", "k", 10, {"k": ["9"]}, True),
    ("NumericGreaterThanEquals", "k", "10", {"k": ["9.5"]}, False),
    ("NumericEquals", "k", 1, {"k": ["one"]}, False),
    ("NumericNotEquals", "k", 1, {"k": ["2"]}, True),
    ("DateLessThan", "aws:CurrentTime", "2030-01-01T00:00:00Z",
     {"aws:CurrentTime": ["2025-06-01T12:00:00Z"]}, True),
    ("DateGreaterThan", "aws:CurrentTime", "2030-01-01", {"aws:CurrentTime":
                                                          ["2025-06-01T12:00:00Z"]}, False),
    ("DateGreaterThan", "aws:EpochTime", 1000, {"aws:EpochTime": ["2000"]}, True),
    ("IpAddress", "aws:SourceIp", "127.0.0.0/8", {"aws:SourceIp": ["127.0.0.1"]}, True),
    ("IpAddress", "aws:SourceIp", ["10.0.0.0/8", "::1/128"], {"aws:SourceIp": ["::1"]}, True),
    ("NotIpAddress", "aws:SourceIp", "54.240.143.0/24", {"aws:SourceIp": ["127.0.0.1"]}, True),
    ("NotIpAddress", "aws:SourceIp", "54.240.143.0/24", {"aws:SourceIp": ["54.240.143.7"]},
     False),
    ("IpAddress", "aws:SourceIp", "garbage", {"aws:SourceIp": ["127.0.0.1"]}, False),
    ("ForAnyValue:StringEquals", "aws:TagKeys", ["team", "env"],
     {"aws:TagKeys": ["owner", "env"]}, True),
    ("ForAnyValue:StringEquals", "aws:TagKeys", ["team"], {}, False),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["team", "env"],
     {"aws:TagKeys": ["owner", "env"]}, False),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["team", "env"], {"aws:TagKeys": ["env"]},
     True),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["team"], {}, True),
    ("ForAllValues:StringNotEquals", "aws:TagKeys", ["secret"], {"aws:TagKeys": ["a", "b"]},
     True),
    ("ForAnyValue:StringNotEquals", "aws:TagKeys", ["a"], {"aws:TagKeys": ["a"]}, False),
    ("StringEquals", "ecr:ResourceTag/env", "dev", {"ecr:ResourceTag/env": ["dev"]}, True),
    ("StringEquals", "aws:ResourceTag/env", "${aws:username}",
     {"aws:ResourceTag/env": ["alice"], "aws:username": ["alice"]}, True),
    ("BinaryEquals", "k", "QUJD", {"k": ["QUJD"]}, True),
])
def test_condition_operators(op: str, key: str, values: Any, ctx: dict[str, list[str]],
                             expected: bool) -> None:
    assert holds(op, key, values, ctx) is expected


def test_condition_keys_are_case_insensitive_and_blocks_are_anded() -> None:
    pol = identity({"Effect": "Allow", "Action": "ecr:*", "Resource": "*", "Condition": {
        "StringEquals": {"AWS:PrincipalAccount": A},
        "IpAddress": {"aws:sourceip": "127.0.0.0/8"}}})
    ok = {"aws:principalaccount": [A], "aws:sourceip": ["127.0.0.1"]}
    assert decide(identity=[pol], ctx=ok).allowed
    assert not decide(identity=[pol], ctx={**ok, "aws:sourceip": ["10.1.1.1"]}).allowed
    assert pol.condition_keys == {"aws:principalaccount", "aws:sourceip"}


def test_tag_based_access_from_ecr_docs() -> None:
    """ecr-supported-iam-actions-tagging.md: pull anything unless tagged environment=prod."""
    pol = identity({"Effect": "Allow", "Action": ["ecr:BatchGetImage",
                                                  "ecr:GetDownloadUrlForLayer"], "Resource": "*"},
                   {"Effect": "Deny", "Action": ["ecr:BatchGetImage",
                                                 "ecr:GetDownloadUrlForLayer"], "Resource": "*",
                    "Condition": {"StringEquals": {"ecr:ResourceTag/environment": "prod"}}})
    pull = "ecr:BatchGetImage"
    assert decide(action=pull, identity=[pol], ctx={"ecr:resourcetag/environment": ["dev"]}
                  ).allowed
    assert decide(action=pull, identity=[pol], ctx={"ecr:resourcetag/environment": ["prod"]}
                  ) is Decision.EXPLICIT_IDENTITY


# --- isolation: another account's resources are out of reach without a grant ------------------

OTHER = Principal.user(B, "admin", "AIDAB")
GRANTS = [None,
          resource({"Effect": "Allow", "Principal": {"AWS": A}, "Action": "ecr:*"}),
          resource({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:user/x"},
                    "Action": "ecr:*"}),
          resource({"Effect": "Deny", "Principal": "*", "Action": "ecr:*"}),
          resource({"Effect": "Allow", "NotPrincipal": {"AWS": B}, "Action": "ecr:*"}),
          resource({"Effect": "Allow", "Principal": {"AWS": B}, "NotAction": "ecr:*"})]


@settings(max_examples=300, deadline=None)
@given(op=st.sampled_from(sorted(operation_scopes())), grant=st.sampled_from(GRANTS),
       name=st.sampled_from(["app", "team/app", "*"]))
def test_an_administrator_of_b_never_reaches_a_without_a_grant(op: str, grant: Policy | None,
                                                                name: str) -> None:
    params = {"registryId": A, "repositoryName": name, "repositoryNames": [name],
              "resourceArn": f"arn:aws:ecr:us-east-1:{A}:repository/{name}"}
    for target in api_targets(op, params, caller_account=B, region="us-east-1"):
        if target.account != A:  # registry-level operations act on B's own registry
            continue
        d = evaluate(OTHER, target.action, target.resource, {}, identity=[ALLOW_ALL],
                     resource_policy=grant, resource_account=target.account)
        assert not d.allowed, (op, target)
