"""Identities, accounts and sessions through real boto3 clients: IAM and STS served by moto behind
the lab's seam, ECR calls authorized by the engine. (Across processes, a restart and the AWS CLI:
tests/integration/access/test_identities_across_processes.py.)"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from labkit.config import LAB_ACCESS_KEY
from labkit.lab.access import AccessControl, RegistryRefusal
from labkit.lab.access.identities import IdentityError
from labkit.lab.auth.signing import Signer
from tests.unit.access.harness import Lab, new_account, serve

PULL = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                                   "ecr:BatchCheckLayerAvailability"], "Resource": "*"}]}


def error_of(call: Any, *args: Any, **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as e:
        call(*args, **kwargs)
    err = e.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def make_user(lab: Lab, name: str, policy: dict[str, Any] | None = None,
              iam: Any = None) -> tuple[str, str]:
    iam = iam or lab.client("iam")
    iam.create_user(UserName=name)
    if policy:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def repo_arn(lab: Lab, name: str = "app", account: str | None = None) -> str:
    return f"arn:aws:ecr:us-east-1:{account or lab.account}:repository/{name}"


def test_default_learner_is_an_administrator_without_loading_moto(lab: Lab) -> None:
    ecr = lab.client("ecr")
    ecr.describe_repositories()
    ecr.put_image(repositoryName="app", imageManifest="{}")
    assert not lab.control.store.moto.loaded  # the hot path needs no identities store
    me = lab.client("sts").get_caller_identity()
    assert me["Arn"] == f"arn:aws:iam::{lab.account}:user/learner"
    assert me["Account"] == lab.account
    assert lab.client("iam").get_user()["User"]["UserName"] == "learner"


def test_authentication_failures_on_ecr_and_sts(lab: Lab) -> None:
    wrong = lab.client("ecr", LAB_ACCESS_KEY, "wrong-secret")
    code, message, status = error_of(wrong.describe_repositories)
    assert (code, status) == ("InvalidSignatureException", 400)
    assert message.startswith("The request signature we calculated does not match")
    unknown = lab.client("ecr", "AKIAUNKNOWNKEY000000", "x")
    assert error_of(unknown.describe_repositories) == (
        "UnrecognizedClientException", "The security token included in the request is invalid.",
        400)
    import boto3

    unsigned = boto3.client("ecr", endpoint_url=lab.url, region_name="us-east-1",
                            config=Config(signature_version=UNSIGNED))
    assert error_of(unsigned.describe_repositories)[:2] == (
        "MissingAuthenticationTokenException", "Missing Authentication Token")
    assert error_of(lab.client("sts", "AKIAUNKNOWNKEY000000", "x").get_caller_identity) == (
        "InvalidClientTokenId", "The security token included in the request is invalid.", 403)
    assert error_of(lab.client("sts", LAB_ACCESS_KEY, "bad").get_caller_identity)[0] == (
        "SignatureDoesNotMatch")


def test_a_pull_only_user_is_refused_with_ecrs_messages(lab: Lab) -> None:
    key, secret = make_user(lab, "ci", PULL)
    ecr = lab.client("ecr", key, secret)
    ecr.batch_get_image(repositoryName="app", imageIds=[{"imageTag": "latest"}])
    user = f"arn:aws:iam::{lab.account}:user/ci"
    assert error_of(ecr.put_image, repositoryName="app", imageManifest="{}") == (
        "AccessDeniedException",
        f"User: {user} is not authorized to perform: ecr:PutImage on resource: "
        f"{repo_arn(lab)} because no identity-based policy allows the ecr:PutImage action", 400)
    assert error_of(ecr.get_authorization_token)[1] == (
        f"User: {user} is not authorized to perform: ecr:GetAuthorizationToken on resource: * "
        "because no identity-based policy allows the ecr:GetAuthorizationToken action")
    assert lab.client("sts", key, secret).get_caller_identity()["Arn"] == user
    # IAM itself is authorized too (query protocol: AccessDenied, 403)
    assert error_of(lab.client("iam", key, secret).create_user, UserName="mallory") == (
        "AccessDenied", f"User: {user} is not authorized to perform: iam:CreateUser on "
        f"resource: arn:aws:iam::{lab.account}:user/mallory because no identity-based policy "
        "allows the iam:CreateUser action", 403)


def test_explicit_deny_and_groups_and_managed_policies(lab: Lab) -> None:
    iam = lab.client("iam")
    key, secret = make_user(lab, "dev")
    iam.create_group(GroupName="devs")
    iam.add_user_to_group(GroupName="devs", UserName="dev")
    iam.attach_group_policy(GroupName="devs", PolicyArn=(
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser"))
    ecr = lab.client("ecr", key, secret)
    ecr.put_image(repositoryName="app", imageManifest="{}")
    with pytest.raises(ClientError):
        ecr.delete_repository(repositoryName="app")  # PowerUser may not delete
    iam.put_user_policy(UserName="dev", PolicyName="no-push", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "ecr:PutImage",
                                                "Resource": repo_arn(lab)}]}))
    assert error_of(ecr.put_image, repositoryName="app", imageManifest="{}")[1].endswith(
        "with an explicit deny in an identity-based policy")
    ecr.put_image(repositoryName="other", imageManifest="{}")


def test_malformed_identity_policies_are_refused_before_moto(lab: Lab) -> None:
    iam = lab.client("iam")
    iam.create_user(UserName="u")
    for doc, message in [("nonsense", "Syntax errors in policy."),
                         (json.dumps({"Version": "2012-10-17", "Statement": [
                             {"Effect": "Allow", "Principal": "*", "Action": "*",
                              "Resource": "*"}]}),
                          "Policy document should not specify a principal.")]:
        assert error_of(iam.put_user_policy, UserName="u", PolicyName="p",
                        PolicyDocument=doc) == ("MalformedPolicyDocument", message, 400)


def test_second_account_with_one_command_and_isolation(lab: Lab) -> None:
    b = lab.control.create_account("team-b")
    assert b.account_id != lab.account and len(b.account_id) == 12
    assert "***" in repr(b) and b.secret_access_key not in repr(b)
    iam_b = lab.client("iam", b.access_key_id, b.secret_access_key)
    assert lab.client("sts", b.access_key_id, b.secret_access_key).get_caller_identity()[
        "Arn"] == f"arn:aws:iam::{b.account_id}:user/admin"
    iam_b.create_user(UserName="builder")
    names_b = {u["UserName"] for u in iam_b.list_users()["Users"]}
    names_a = {u["UserName"] for u in lab.client("iam").list_users()["Users"]}
    assert {"admin", "builder"} <= names_b and "builder" not in names_a
    assert lab.control.store.accounts()[b.account_id] == "team-b"


def test_creating_an_account_twice_gives_the_same_account(lab: Lab, tmp_path: Path) -> None:
    """A notebook cell that makes an account runs twice (Run All again): the second call gives
    the same account and the keys it was made with, also after a restart of the lab; once those
    keys are gone, the name is refused with a message saying so."""
    first = lab.control.create_account("team-base")
    again = lab.control.create_account(" team-base ")
    assert first.created and not again.created
    assert (again.account_id, again.access_key_id, again.secret_access_key) == (
        first.account_id, first.access_key_id, first.secret_access_key)
    assert list(lab.control.store.accounts().values()).count("team-base") == 1
    restarted = AccessControl(lab.home, Signer(b"k" * 32), "lab", account=lab.account)
    after = restarted.create_account("team-base")
    assert (after.account_id, after.secret_access_key, after.created) == (
        first.account_id, first.secret_access_key, False)
    with pytest.raises(IdentityError) as own:
        lab.control.create_account("lab")
    assert own.value.code == "ValidationError" and lab.account in own.value.message
    lab.client("iam", first.access_key_id, first.secret_access_key).delete_access_key(
        UserName="admin", AccessKeyId=first.access_key_id)
    with pytest.raises(IdentityError) as gone:
        lab.control.create_account("team-base")
    assert gone.value.code == "EntityAlreadyExists"
    assert f"An account named team-base exists ({first.account_id})" in gone.value.message


def test_a_rooms_account_has_no_managed_policies_and_an_inline_administrator(lab: Lab) -> None:
    """A workshop room's learner account: made without AWS's managed policies (moto would copy
    1,300 into it), its administrator allowed everything by an inline policy instead."""
    made = lab.control.create_account("room-learner", managed_policies=False)
    iam = lab.client("iam", made.access_key_id, made.secret_access_key)
    assert iam.list_policies(Scope="AWS")["Policies"] == []
    assert iam.list_user_policies(UserName="admin")["PolicyNames"] == ["AdministratorAccess"]
    iam.create_user(UserName="builder")  # allowed: the inline policy is an administrator's
    assert "arn:aws:iam::aws:policy/AdministratorAccess" in {
        p["Arn"] for p in lab.client("iam").list_policies(Scope="AWS", MaxItems=1000)[
            "Policies"]}  # the lab's own account still has them
    restarted = AccessControl(lab.home, Signer(b"k" * 32), "lab", account=lab.account)
    assert restarted.create_account("room-learner").secret_access_key == made.secret_access_key


def test_cross_account_pull_needs_the_repository_policy(lab: Lab) -> None:
    b = lab.control.create_account("consumer")
    ecr_b = lab.client("ecr", b.access_key_id, b.secret_access_key)
    pull = dict(registryId=lab.account, repositoryName="app", imageIds=[{"imageTag": "v1"}])
    me = f"arn:aws:iam::{b.account_id}:user/admin"
    assert error_of(ecr_b.batch_get_image, **pull)[1] == (
        f"User: {me} is not authorized to perform: ecr:BatchGetImage on resource: "
        f"{repo_arn(lab)} because no resource-based policy allows the ecr:BatchGetImage action")
    ecr_a = lab.client("ecr")
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "CrossAccountPull", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{b.account_id}:root"},
         "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]}
    ecr_a.set_repository_policy(repositoryName="app", policyText=json.dumps(policy))
    ecr_b.batch_get_image(**pull)
    assert error_of(ecr_b.put_image, registryId=lab.account, repositoryName="app",
                    imageManifest="{}")[1].endswith(
        "because no resource-based policy allows the ecr:PutImage action")
    bad = {**policy, "Statement": [{**policy["Statement"][0],
                                    "Principal": {"AWS": "arn:aws:iam::999999999999:root"}}]}
    assert error_of(ecr_a.set_repository_policy, repositoryName="app",
                    policyText=json.dumps(bad))[:2] == (
        "InvalidParameterException",
        "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Principal not found'")


def _trust(principal: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]})


def test_assume_role_sessions(lab: Lab) -> None:
    iam = lab.client("iam")
    learner = f"arn:aws:iam::{lab.account}:user/learner"
    role = iam.create_role(RoleName="ci-pull", AssumeRolePolicyDocument=_trust(learner))
    iam.put_role_policy(RoleName="ci-pull", PolicyName="pull", PolicyDocument=json.dumps(PULL))
    creds = lab.client("sts").assume_role(RoleArn=role["Role"]["Arn"],
                                          RoleSessionName="GitHubActions")["Credentials"]
    session = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    arn = f"arn:aws:sts::{lab.account}:assumed-role/ci-pull/GitHubActions"
    assert lab.client("sts", *session).get_caller_identity()["Arn"] == arn
    ecr = lab.client("ecr", *session)
    ecr.batch_get_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])
    assert error_of(ecr.initiate_layer_upload, repositoryName="app")[1] == (
        f"User: {arn} is not authorized to perform: ecr:InitiateLayerUpload on resource: "
        f"{repo_arn(lab)} because no identity-based policy allows the ecr:InitiateLayerUpload "
        "action")
    # without its token the key is not a key; the token alone wrong is invalid too
    assert error_of(lab.client("ecr", *session[:2]).describe_images,
                    repositoryName="app")[0] == "UnrecognizedClientException"
    # a session policy narrows the role
    narrow = lab.client("sts").assume_role(
        RoleArn=role["Role"]["Arn"], RoleSessionName="narrow", Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                                                    "Action": "ecr:BatchCheckLayerAvailability",
                                                    "Resource": "*"}]}))["Credentials"]
    ecr_n = lab.client("ecr", narrow["AccessKeyId"], narrow["SecretAccessKey"],
                       narrow["SessionToken"])
    assert error_of(ecr_n.batch_get_image, repositoryName="app",
                    imageIds=[{"imageTag": "v1"}])[1].endswith(
        "because no session policy allows the ecr:BatchGetImage action")


def test_assume_role_is_refused_by_the_trust_policy(lab: Lab) -> None:
    iam = lab.client("iam")
    role = iam.create_role(RoleName="locked", AssumeRolePolicyDocument=_trust(
        f"arn:aws:iam::{lab.account}:root"))["Role"]["Arn"]
    key, secret = make_user(lab, "outsider", PULL)
    outsider = f"arn:aws:iam::{lab.account}:user/outsider"
    # the trust names the account: the user's own policies must allow sts:AssumeRole too
    assert error_of(lab.client("sts", key, secret).assume_role, RoleArn=role,
                    RoleSessionName="s1") == (
        "AccessDenied", f"User: {outsider} is not authorized to perform: sts:AssumeRole on "
        f"resource: {role} because no identity-based policy allows the sts:AssumeRole action",
        403)
    other = iam.create_role(RoleName="other", AssumeRolePolicyDocument=_trust(
        f"arn:aws:iam::{lab.account}:user/learner"))["Role"]["Arn"]
    assert error_of(lab.client("sts", key, secret).assume_role, RoleArn=other,
                    RoleSessionName="s1")[1] == (
        f"User: {outsider} is not authorized to perform: sts:AssumeRole on resource: {other}")
    missing = f"arn:aws:iam::{lab.account}:role/nope"
    assert error_of(lab.client("sts").assume_role, RoleArn=missing,
                    RoleSessionName="s1")[0] == "AccessDenied"


def test_expired_session_is_expired_token(tmp_path: Path) -> None:
    # The server's clock starts 10 minutes behind the real one (botocore signs with the real
    # time): moved 901 s on, the 900 s session has ended while the signature, made at the real
    # time, is still inside SigV4's 15-minute window, whatever the second it was made in.
    now = [time.time() - 600]
    control = AccessControl(tmp_path, Signer(b"k" * 32), "lab", account=new_account(),
                            clock=lambda: now[0])
    for lab in serve(control, tmp_path):
        iam = lab.client("iam")
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument=_trust(
            f"arn:aws:iam::{lab.account}:user/learner"))["Role"]["Arn"]
        c = lab.client("sts").assume_role(RoleArn=role, RoleSessionName="s1",
                                          DurationSeconds=900)["Credentials"]
        ecr = lab.client("ecr", c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
        now[0] += 901
        assert error_of(ecr.describe_repositories) == (
            "ExpiredTokenException", "The security token included in the request is expired",
            400)


def test_registry_tokens_carry_the_identity(lab: Lab) -> None:
    key, secret = make_user(lab, "puller", {**PULL, "Statement": PULL["Statement"] + [
        {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}]})
    data = lab.client("ecr", key, secret).get_authorization_token()["authorizationData"][0]
    header = "Basic " + data["authorizationToken"]
    password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)[1]
    doc = json.loads(base64.b64decode(password))
    assert {"payload", "datakey", "version", "type", "expiration"} <= set(doc)
    control = lab.control
    claims = control.registry_caller(header, region="us-east-1", route="blob")
    user = f"arn:aws:iam::{lab.account}:user/puller"
    assert (claims.principal.arn, claims.region) == (user, "us-east-1")
    control.authorize_registry(claims.principal, "blob", "HEAD", "app", account=lab.account,
                               region="us-east-1")
    with pytest.raises(RegistryRefusal) as e:
        control.authorize_registry(claims.principal, "upload", "POST", "app",
                                   account=lab.account, region="us-east-1")
    assert (e.value.status, e.value.body()) == (403, {"errors": [{"code": "DENIED", "message": (
        f"User: {user} is not authorized to perform: ecr:InitiateLayerUpload on resource: "
        f"{repo_arn(lab)} because no identity-based policy allows the ecr:InitiateLayerUpload "
        "action")}]})
    # another region's registry: login 400, anything else 403 DENIED
    with pytest.raises(RegistryRefusal) as e:
        control.registry_caller(header, region="eu-west-1", route="base")
    assert e.value.status == 400
    with pytest.raises(RegistryRefusal) as e:
        control.registry_caller(header, region="eu-west-1", route="manifest")
    assert (e.value.status, e.value.code) == (403, "DENIED")
    # a password edited into another identity is not this lab's
    forged = json.dumps({**doc, "principal": {**doc["principal"], "name": "learner"}})
    bad = "Basic " + base64.b64encode(
        f"AWS:{base64.b64encode(forged.encode()).decode()}".encode()).decode()
    with pytest.raises(RegistryRefusal) as e:
        control.registry_caller(bad, region="us-east-1", route="blob")
    assert (e.value.status, e.value.challenge) == (401, True)
    with pytest.raises(RegistryRefusal) as e:
        control.registry_caller(None, region="us-east-1", route="blob")
    assert e.value.status == 401
