"""`labkit explain`'s logic on records a real lab wrote for the docker CLI, the built-in engine,
curl, the AWS CLI and boto3 (tests/fixtures/trace_real.json): each case says what was asked,
what the lab answered, why, and the one command that fixes it."""

from __future__ import annotations

import dataclasses
import json

import pytest

from labkit.trace import reader
from labkit.trace.explain import Lookups, duration, explain
from labkit.trace.record import Reason, TraceRecord
from tests.fixtures.trace_scenarios import load

RECORDING = load()
REGISTRY = RECORDING.registry
NAME = RECORDING.name
LOGIN = f"aws ecr get-login-password --region us-east-1 | docker login --username AWS " \
        f"--password-stdin {REGISTRY}"


def look(repositories: tuple[str, ...] = (NAME, f"{NAME}-imm"), tags: tuple[str, ...] = ("v1", "v2"),
         logins: tuple[str, ...] = (), lifecycle: bool = False) -> Lookups:
    return Lookups(REGISTRY, "us-east-1", lambda: list(repositories), lambda _n: list(tags),
                   lambda: list(logins), lambda _n: lifecycle)


def last(label: str) -> reader.Failure:
    found = reader.last_failure(RECORDING[label].records)
    assert found is not None, label
    return found


def test_not_logged_in_lists_the_hosts_docker_holds_a_login_for() -> None:
    ex = explain(last("push-not-logged-in"), look(logins=("localhost:5400", "ecr.example:443")))
    assert ex.case == "not-logged-in"
    assert ex.asked == "docker: GET /v2/ without credentials"
    assert ex.answered == "401 UNAUTHORIZED: Not Authorized"
    assert f"docker has no login for {REGISTRY}" in ex.why[0]
    assert "ecr.example:443, localhost:5400 only" in ex.why[0]
    assert ex.fix == LOGIN


def test_not_logged_in_anywhere_says_so() -> None:
    ex = explain(last("logged-out"), look())
    assert ex.case == "not-logged-in" and "holds no registry login at all" in ex.why[0]


def test_a_wrong_password_is_not_a_missing_login() -> None:
    ex = explain(last("login-wrong-password"), look())
    assert ex.case == "bad-password" and ex.asked.endswith("with credentials") and ex.fix == LOGIN


def test_an_expired_token_says_when_it_was_issued_and_how_long_it_lived() -> None:
    failure = last("expired-token")
    ex = explain(failure, look())
    assert ex.case == "expired"
    assert ex.answered == ("403 DENIED: Your authorization token has expired. Reauthenticate "
                           "and try again.")
    issued = failure.facts["token_issued"]
    from labkit.trace.explain import clock
    assert f"issued at {clock(issued)} for 2 s" in ex.why[0]
    assert "12 h" in ex.why[0] and ex.fix == LOGIN


def test_a_misspelled_repository_gets_did_you_mean_and_the_corrected_pull() -> None:
    ex = explain(last("pull-misspelled-repository"), look())
    assert ex.case == "misspelled-repository" and ex.suggestion == NAME
    assert f"did you mean `{NAME}`?" in ex.why[0]
    assert ex.fix == f"docker pull {REGISTRY}/{NAME}:v1"
    assert "create-repository" not in ex.fix  # never create the typo


def test_a_misspelled_repository_on_the_aws_cli_gets_the_corrected_call() -> None:
    ex = explain(last("awscli-missing-repository"), look())
    assert ex.case == "misspelled-repository"
    assert ex.fix == f"aws ecr describe-repositories --repository-names {NAME}"


def test_a_push_to_a_repository_that_does_not_exist_creates_it() -> None:
    ex = explain(last("push-no-repository"), look(repositories=("hello-app",)))
    assert ex.case == "no-repository"
    assert ex.summary == f"a push to {NAME}"
    assert "the repositories it has: hello-app" in ex.why[0]
    assert ex.fix == f"aws ecr create-repository --repository-name {NAME}"


def test_a_longer_name_is_another_repository_not_a_typo() -> None:
    """`trace-x` is not a misspelled `trace-x-imm`: no "did you mean" across a suffix."""
    ex = explain(last("push-no-repository"), look(repositories=(f"{NAME}-imm",)))
    assert ex.case == "no-repository" and ex.suggestion is None


def test_a_pull_of_a_missing_repository_never_creates_one() -> None:
    ex = explain(last("pull-misspelled-repository"), look(repositories=()))
    assert ex.case == "no-repository" and "create" not in ex.fix
    assert "no repositories at all" in ex.why[0]


@pytest.mark.parametrize("label", ["pull-missing-tag", "builtin-pull-missing-tag",
                                   "boto3-missing-image"])
def test_a_missing_tag_lists_the_tags_that_exist(label: str) -> None:
    ex = explain(last(label), look(tags=("v2", "v1", "latest")))
    assert ex.case == "missing-tag"
    assert f"{NAME} has no tag nope; the tags it holds: latest, v1, v2" == ex.why[0]
    assert ex.fix == f"aws ecr describe-images --repository-name {NAME}"


def test_a_missing_tag_close_to_one_that_exists_is_suggested_and_lifecycle_named() -> None:
    failure = dataclasses.replace(last("pull-missing-tag"), reference="v3")
    ex = explain(failure, look(tags=("v1", "v2", "v30"), lifecycle=True))
    assert "lifecycle policy expired" in ex.why[1]
    assert ex.suggestion in ("v1", "v2", "v30") and ex.fix.startswith("docker pull ")


def test_a_missing_digest_is_told_apart_from_a_missing_tag() -> None:
    digest = "sha256:" + "e" * 64
    failure = dataclasses.replace(last("pull-missing-tag"), reference=digest,
                                  facts={"missing": "digest"})
    ex = explain(failure, look())
    assert ex.case == "missing-digest" and f"no image with the digest {digest}" in ex.why[0]


def test_an_immutable_tag_gets_a_new_tag_never_mutability() -> None:
    failure = last("push-immutable")
    ex = explain(failure, look(tags=("stable", "stable-1")))
    assert ex.case == "immutable-tag"
    assert ex.answered.startswith("400 TAG_INVALID: The image tag 'stable' already exists")
    assert failure.facts["existing_digest"][:19] in ex.why[0]
    new = f"{REGISTRY}/{NAME}-imm:stable-2"
    assert ex.fix == f"docker tag {REGISTRY}/{NAME}-imm:stable {new} && docker push {new}"
    assert "MUTABLE" not in ex.fix and "mutability" not in ex.fix


def test_a_version_tag_moves_on_to_the_next_free_version() -> None:
    failure = dataclasses.replace(last("push-immutable"), reference="v1")
    ex = explain(failure, look(tags=("v1", "v2")))
    assert ex.fix.endswith(f"docker push {REGISTRY}/{NAME}-imm:v3")


def test_a_manifest_with_missing_layers_names_them() -> None:
    ex = explain(last("manifest-missing-layers"), look())
    assert ex.case == "missing-layers"
    assert "names 2 blob(s)" in ex.why[0] and "sha256:cccccccccccc…" in ex.why[0]
    assert ex.asked == f"curl: PUT manifest {NAME}:broken (ecr:PutImage)"
    assert ex.fix == f"docker push {REGISTRY}/{NAME}:broken"


def test_an_existing_repository_is_nothing_to_do() -> None:
    ex = explain(last("awscli-repository-exists"), look())
    assert ex.case == "repository-exists" and "nothing to do" in ex.why[0]


def test_the_explanation_is_a_few_lines_and_plain_json() -> None:
    ex = explain(last("pull-misspelled-repository"), look())
    lines = ex.lines()
    assert lines[0] == f"labkit explain: the lab refused a pull of {NAME}x:v1"
    assert [ln.split()[0] for ln in lines[1:]] == ["asked", "answered", "why", "fix"]
    doc = json.loads(json.dumps(ex.to_dict()))
    assert doc["refused"] is True and doc["fix"] == ex.fix and doc["failure"]["status"] == 404


def test_lookups_are_asked_only_when_the_case_needs_them() -> None:
    def boom(*_a: object) -> list[str]:
        raise AssertionError("not needed")

    ex = explain(last("expired-token"), Lookups(REGISTRY, "us-east-1", boom, boom, boom))
    assert ex.case == "expired"


@pytest.mark.parametrize(("seconds", "said"), [(2, "2 s"), (90, "90 s"), (900, "15 min"),
                                               (43200, "12 h"), (5400, "90 min")])
def test_durations_read_as_people_say_them(seconds: float, said: str) -> None:
    assert duration(seconds) == said


# -- IAM and regions: records as the lab writes them (tests/integration/cli/test_cli_explain.py
# drives the same refusals with the real docker CLI and checks the lab records them so) -------
ACCOUNT = "123456789012"
CI_ARN = f"arn:aws:iam::{ACCOUNT}:user/ci-bot"
REPO_ARN = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{NAME}"


def denied(action: str, *, principal: str = CI_ARN, method: str = "POST", route: str = "upload",
           because: str = "no identity-based policy allows the {action} action",
           kind: str = "registry", code: str = "DENIED", resource: str = REPO_ARN,
           repository: str = NAME) -> reader.Failure:
    sentence = (f"User: {principal} is not authorized to perform: {action} on resource: "
                f"{resource} because " + because.format(action=action))
    return reader.Failure.of(TraceRecord(
        seq=7, time=1.0, kind=kind, method=method, path=f"/v2/{NAME}/blobs/uploads/",
        status=403, client="docker/27.3.1 go/go1.22.7", auth="basic", principal=principal,
        route=route, action=action.removeprefix("ecr:"), repository=repository,
        reason=Reason(code, sentence)))


def test_an_access_denial_names_the_identity_the_action_the_repository_and_grants_the_push(
        ) -> None:
    ex = explain(denied("ecr:InitiateLayerUpload"), look())
    assert ex.case == "access-denied" and ex.topic == "permissions"
    assert ex.summary == f"a push to {NAME} by ci-bot"
    assert ex.why[0] == (f"you are logged in as ci-bot ({CI_ARN}), and IAM does not allow "
                         f"ci-bot ecr:InitiateLayerUpload on the repository {NAME}")
    assert "logging in again changes nothing" in ex.why[1]
    assert ex.fix.startswith("aws iam put-user-policy --user-name ci-bot --policy-name ecr-push "
                             "--policy-document '")
    doc = json.loads(ex.fix.split("--policy-document ", 1)[1].strip("'"))
    assert doc == {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Resource": REPO_ARN, "Action": [
            "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
            "ecr:CompleteLayerUpload", "ecr:PutImage"]}]}
    assert "login" not in ex.fix


def test_a_denied_pull_grants_the_pull_actions() -> None:
    ex = explain(denied("ecr:BatchGetImage", method="GET", route="manifest"), look())
    assert ex.case == "access-denied"
    doc = json.loads(ex.fix.split("--policy-document ", 1)[1].strip("'"))
    assert doc["Statement"][0]["Action"] == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                                             "ecr:BatchCheckLayerAvailability"]
    assert "--policy-name ecr-pull" in ex.fix


def test_an_assumed_role_gets_its_roles_policy() -> None:
    arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-role/build-42"
    ex = explain(denied("ecr:PutImage", principal=arn, method="PUT", route="manifest"), look())
    assert "logged in as ci-role" in ex.why[0]
    assert ex.fix.startswith("aws iam put-role-policy --role-name ci-role --policy-name ecr-push")


def test_an_explicit_deny_is_not_fixed_by_another_allow() -> None:
    ex = explain(denied("ecr:PutImage", because="with an explicit deny in an identity-based "
                        "policy"), look())
    assert ex.case == "access-denied" and "a Deny wins over any Allow" in ex.why[1]
    assert ex.fix == "aws iam list-user-policies --user-name ci-bot"


def test_an_api_denial_says_called_as_not_logged_in() -> None:
    ex = explain(denied("ecr:DescribeImages", kind="api", method="POST", route="DescribeImages",
                        code="AccessDeniedException"), look())
    assert ex.why[0].startswith("you called as ci-bot") and "login" not in ex.why[1]
    assert "--policy-name ecr-pull" in ex.fix


def wrong_region(route: str, status: int) -> reader.Failure:
    return reader.Failure.of(TraceRecord(
        seq=3, time=1.0, method="GET", path="/v2/", status=status, client="docker/27.3.1",
        auth="basic", principal=f"arn:aws:iam::{ACCOUNT}:user/learner", route=route,
        reason=Reason("DENIED", "Your Authorization Token is invalid." if status == 400 else
                      "Your authorization token has expired. Reauthenticate and try again.",
                      {"authorization": "wrong-region", "token_region": "eu-west-1"})))


def test_a_login_with_another_regions_token_names_both_regions_and_logs_in_to_the_labs() -> None:
    ex = explain(wrong_region("base", 400), look())
    assert ex.case == "wrong-region" and ex.summary == "a login with another region's token"
    assert ex.why[0] == ("the password is a token for eu-west-1 (get-login-password --region "
                         "eu-west-1); this registry is us-east-1's")
    assert "docker login failed" in ex.why[2]
    assert ex.fix == LOGIN


def test_a_request_with_another_regions_token_is_not_called_expired() -> None:
    ex = explain(wrong_region("manifest", 403), look())
    assert ex.case == "wrong-region" and ex.summary == "a request with another region's token"
    assert len(ex.why) == 2 and ex.fix == LOGIN
    eu = Lookups(REGISTRY, "eu-central-1")
    assert explain(wrong_region("manifest", 403), eu).fix.startswith(
        "aws ecr get-login-password --region eu-central-1 |")


def test_a_refusal_at_another_regions_registry_logs_in_to_that_registry() -> None:
    """The refusing registry's region and address (facts a region's gate records) replace the
    lab's in every part of the explanation: a us-east-1 token at eu-west-1's port 5401."""
    failure = reader.Failure.of(TraceRecord(
        seq=4, time=1.0, method="GET", path="/v2/", status=400, client="docker/27.3.1",
        auth="basic", principal=f"arn:aws:iam::{ACCOUNT}:user/learner", route="base",
        reason=Reason("DENIED", "Your Authorization Token is invalid.",
                      {"authorization": "wrong-region", "token_region": "us-east-1",
                       "registry_region": "eu-west-1", "registry_host": "127.0.0.1:5401"})))
    ex = explain(failure, look())
    assert ex.why[0].endswith("this registry is eu-west-1's")
    assert ex.fix == ("aws ecr get-login-password --region eu-west-1 | docker login --username "
                      "AWS --password-stdin 127.0.0.1:5401")


def test_a_denial_in_another_accounts_repository_asks_its_owner_for_a_grant() -> None:
    """ECR's "no resource-based policy allows": the caller's own IAM policies cannot help; the
    fix is the owning account's repository policy naming the caller's account."""
    ex = explain(denied("ecr:BatchGetImage", resource="arn:aws:ecr:us-east-1:210987654321:"
                        "repository/base-images/app", repository="base-images/app",
                        method="GET", route="manifest",
                        because="no resource-based policy allows the ecr:BatchGetImage action"),
                 look())
    assert ex.case == "cross-account-denied" and ex.topic == "permissions"
    assert ex.why[0].startswith("base-images/app belongs to account 210987654321; you are ")
    doc = json.loads(ex.fix.split("--policy-text ", 1)[1].strip("'"))
    assert doc["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert set(doc["Statement"][0]["Action"]) == {"ecr:BatchGetImage",
                                                  "ecr:GetDownloadUrlForLayer",
                                                  "ecr:BatchCheckLayerAvailability"}


def test_an_expired_token_on_a_moved_token_clock_says_the_clock_was_moved() -> None:
    """`labkit lab clock advance 13h --tokens` (notebook 08): the request came at the machine's
    time, the lab judged the token 13 hours later; the why says both, in that order."""
    from labkit.trace.explain import clock

    issued = 1_800_000_000
    failure = reader.Failure.of(TraceRecord(
        seq=4, time=issued + 5.4, method="GET", path=f"/v2/{NAME}/manifests/v1", status=403,
        client="docker/27.3.1", auth="basic", route="manifest", repository=NAME, reference="v1",
        reason=Reason("DENIED", "Your authorization token has expired. Reauthenticate and try "
                      "again.", {"authorization": "expired", "token_issued": issued,
                                 "token_expires": issued + 43200, "token_lifetime": 43200,
                                 "token_checked": issued + 5 + 13 * 3600})))
    ex = explain(failure, look())
    assert ex.case == "expired" and ex.fix == LOGIN
    assert ex.why[0].endswith(f"it expired at {clock(issued + 43200)}, before this request at "
                              f"{clock(issued + 5 + 13 * 3600)}")
    assert ex.why[1] == ("(the lab's token clock runs 13 h ahead of this machine's: "
                         "`labkit lab clock advance --tokens` moved it)")
    # without a moved clock there is no such line (the recorded case above: 2 s tokens)
    assert not any("token clock" in w for w in explain(last("expired-token"), look()).why)
