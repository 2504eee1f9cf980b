"""AccessControl's caches never outlive what they were computed from, and the registry side
(tokens, catalog, context) behaves as documented."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.lab.access import AccessControl, RegistryRefusal, RequestContext
from labkit.lab.access.actions import Target
from labkit.lab.auth.signing import Signer
from labkit.lab.auth.tokens import TokenIssuer
from tests.unit.access.harness import Lab, new_account

REPO = "app"


def arn(lab_or_account: Lab | str, name: str = REPO) -> str:
    account = lab_or_account if isinstance(lab_or_account, str) else lab_or_account.account
    return f"arn:aws:ecr:us-east-1:{account}:repository/{name}"


def test_an_iam_change_reaches_the_next_decision(lab: Lab) -> None:
    control, iam = lab.control, lab.client("iam")
    learner = control.store.default_principal
    push = Target("ecr:PutImage", arn(lab), lab.account, REPO)
    assert control.decide(learner, push).allowed
    control.authorize_registry(learner, "manifest", "PUT", REPO, account=lab.account,
                               region="us-east-1")
    iam.put_user_policy(UserName="learner", PolicyName="no-push", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "ecr:PutImage",
                                                "Resource": "*"}]}))
    learner = control.store.default_principal  # moto's own user id from now on
    assert not control.decide(learner, push).allowed
    with pytest.raises(RegistryRefusal) as e:
        control.authorize_registry(learner, "manifest", "PUT", REPO, account=lab.account,
                                   region="us-east-1")
    assert e.value.message.endswith("with an explicit deny in an identity-based policy")


def test_conditions_are_not_cached_across_contexts(lab: Lab) -> None:
    control = lab.control
    learner = control.store.default_principal
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "IPAllow", "Effect": "Deny", "Principal": "*", "Action": "ecr:*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}]})
    control.repository_policy(policy)  # valid as ECR's documented example
    for _ in range(2):  # twice: the second time from the caches
        control.authorize_registry(learner, "blob", "HEAD", REPO, account=lab.account,
                                   region="us-east-1", repository_policy=policy,
                                   source_ip="127.0.0.1")
        with pytest.raises(RegistryRefusal) as e:
            control.authorize_registry(learner, "blob", "HEAD", REPO, account=lab.account,
                                       region="us-east-1", repository_policy=policy,
                                       source_ip="10.9.9.9")
        assert e.value.message.endswith("with an explicit deny in a resource-based policy")


def test_resource_tags_are_read_lazily_and_decide(lab: Lab) -> None:
    control, iam = lab.control, lab.client("iam")
    iam.create_user(UserName="dev")
    iam.put_user_policy(UserName="dev", PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": "*"},
            {"Effect": "Deny", "Action": "ecr:BatchGetImage", "Resource": "*",
             "Condition": {"StringEquals": {"ecr:ResourceTag/environment": "prod"}}}]}))
    key = iam.create_access_key(UserName="dev")["AccessKey"]["AccessKeyId"]
    dev = control.store.caller(key).principal
    control.authorize_registry(dev, "manifest", "GET", REPO, account=lab.account,
                               region="us-east-1", resource_tags={"environment": "dev"})
    with pytest.raises(RegistryRefusal):
        control.authorize_registry(dev, "manifest", "GET", REPO, account=lab.account,
                                   region="us-east-1", resource_tags=lambda: {"environment":
                                                                              "prod"})
    asked: list[int] = []
    control.authorize_registry(control.store.default_principal, "manifest", "GET", REPO,
                               account=lab.account, region="us-east-1",
                               resource_tags=lambda: asked.append(1) or {})
    assert not asked  # the administrator's policies read no tags: never fetched


def test_a_stored_policy_the_lab_once_accepted_unchecked_grants_nothing(lab: Lab) -> None:
    b = lab.control.create_account("b")
    other = lab.control.store.caller(b.access_key_id).principal
    with pytest.raises(RegistryRefusal) as e:
        lab.control.authorize_registry(other, "manifest", "GET", REPO, account=lab.account,
                                       region="us-east-1", repository_policy='{"Effect":')
    assert "because no resource-based policy allows" in e.value.message


def test_catalog_lists_what_the_caller_may_describe(lab: Lab) -> None:
    b = lab.control.create_account("b2")
    other = lab.control.store.caller(b.access_key_id).principal
    grant = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": b.account_id},
         "Action": "ecr:DescribeRepositories"}]})
    assert lab.control.may_list(lab.control.store.default_principal, REPO,
                                account=lab.account, region="us-east-1")
    assert not lab.control.may_list(other, REPO, account=lab.account, region="us-east-1")
    assert lab.control.may_list(other, REPO, account=lab.account, region="us-east-1",
                                repository_policy=grant)


def test_tokens_from_before_the_upgrade_act_as_the_default_learner(tmp_path: Path) -> None:
    signer = Signer(b"s" * 32)
    control = AccessControl(tmp_path, signer, "lab-x", account=new_account())
    import base64

    old = TokenIssuer(signer, "lab-x").issue(600)
    header = "Basic " + old.authorization_token
    claims = control.registry_caller(header, region="us-east-1", route="blob")
    assert claims.principal.arn == control.store.default_principal.arn
    assert claims.region == "us-east-1"
    other_lab = TokenIssuer(Signer(b"t" * 32), "lab-y").issue(600)
    with pytest.raises(RegistryRefusal) as e:
        control.registry_caller("Basic " + other_lab.authorization_token, region="us-east-1",
                                route="base")
    assert (e.value.status, e.value.message, e.value.challenge) == (401, "Not Authorized", True)
    expired = control.issue_token(control.store.default_principal, "us-east-1", -5)
    with pytest.raises(RegistryRefusal) as e:
        control.registry_caller("Basic " + expired.authorization_token, region="us-east-1")
    assert (e.value.status, e.value.body()) == (403, {"errors": [{
        "code": "DENIED",
        "message": "Your authorization token has expired. Reauthenticate and try again."}]})
    assert "***" in repr(old) and base64.b64decode(old.authorization_token)


def test_secure_transport_is_what_the_request_came_over(lab: Lab) -> None:
    """ECR's documented "deny unless HTTPS" repository policy: a TLS lab's requests pass it."""
    control = lab.control
    learner = control.store.default_principal
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "HttpsOnly", "Effect": "Deny", "Principal": "*", "Action": "ecr:*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
    control.repository_policy(policy)
    for _ in range(2):  # twice: the second time from the caches
        control.authorize_registry(learner, "blob", "HEAD", REPO, account=lab.account,
                                   region="us-east-1", repository_policy=policy, secure=True)
        with pytest.raises(RegistryRefusal):
            control.authorize_registry(learner, "blob", "HEAD", REPO, account=lab.account,
                                       region="us-east-1", repository_policy=policy)


def test_request_context_keys(lab: Lab) -> None:
    session_like = lab.control.store.default_principal
    ctx = RequestContext(session_like, region="eu-west-1", source_ip="127.0.0.1", now=0,
                         resource_tags={"Team": "a"}, request_tags={"env": "dev"})
    assert ctx["aws:username"] == ("learner",)
    assert ctx["aws:principalaccount"] == (lab.account,)
    assert ctx["aws:principaltype"] == ("User",)
    assert ctx["aws:currenttime"] == ("1970-01-01T00:00:00Z",)
    assert ctx["ecr:resourcetag/team"] == ("a",) and ctx["aws:resourcetag/team"] == ("a",)
    assert ctx["aws:tagkeys"] == ("env",) and ctx["aws:requesttag/env"] == ("dev",)
    assert ctx.get("aws:principalorgid") is None
    assert ctx["aws:securetransport"] == ("false",) and ctx["aws:requestedregion"] == (
        "eu-west-1",)
