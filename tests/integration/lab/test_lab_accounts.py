"""A second account, as on ECR, with the real AWS CLI and the docker CLI: `labkit lab account
create` gives its administrator's keys; its repositories live in its own registry (an address of
its own) and are invisible to the first account; a repository policy that grants the first
account lets it pull, also as the `FROM` of a `docker build`, after logging in to that registry;
without the grant, or for a push, the refusal is ECR's ("because no resource-based policy
allows ..."). Expected sentences come from tests/fixtures/ecr_messages_access.json."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import lab_environ
from tests.integration.lab.labs import aws, labkit
from tests.integration.lab.test_lab_seed_flow import sh

pytestmark = pytest.mark.docker

ACCESS = {e["key"]: e for e in json.loads(
    (Path(__file__).parents[2] / "fixtures" / "ecr_messages_access.json").read_text())}
PULL = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage",
        "ecr:DescribeImages"]
REPO = "base-images/app"


def _account(env: dict[str, str], name: str, tmp: Path) -> tuple[str, dict[str, str]]:
    """`labkit lab account create NAME`: the new account's id and a shell acting as it."""
    made = labkit(env, "lab", "account", "create", name)
    assert made.returncode == 0, made.stderr
    lines = made.stdout.splitlines()
    assert lines[0].startswith("# account ") and f"({name})" in lines[0], made.stdout
    account = lines[0].split()[2]
    keys = dict(shlex.split(ln.removeprefix("export "))[0].split("=", 1) for ln in lines[1:])
    assert set(keys) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "REGISTRY"}
    return account, dict(env, **keys, DOCKER_CONFIG=str(tmp / f"docker-{name}"))


def test_a_second_account_shares_an_image_through_a_repository_policy(
        private_lab: Any, tmp_path: Path, require_docker: None, require_aws_cli: None) -> None:
    lab = private_lab
    me = lab_environ(lab, tmp_path / "docker-me")
    mine = json.loads(aws(me, "sts", "get-caller-identity").stdout)
    b, other = _account(me, "team-b", tmp_path)
    assert json.loads(aws(other, "sts", "get-caller-identity").stdout)["Account"] == b != \
        mine["Account"]

    # team-b's repository is in team-b's registry, at an address of its own
    uri = json.loads(aws(other, "ecr", "create-repository", "--repository-name", REPO
                         ).stdout)["repository"]["repositoryUri"]
    registry = uri.split("/", 1)[0]
    assert registry == other["REGISTRY"] != lab.registry  # as `account create` said
    listed = labkit(me, "lab", "account", "list").stdout
    assert any(ln.startswith(b) and "team-b" in ln and registry in ln
               for ln in listed.splitlines()), listed
    # ... invisible to my account
    mine_listed = json.loads(aws(me, "ecr", "describe-repositories").stdout)["repositories"]
    assert REPO not in [r["repositoryName"] for r in mine_listed]
    sh(f"aws ecr get-login-password | docker login --username AWS --password-stdin {registry}",
       other)
    sh(f"docker build -q -t {uri}:v1 \"$({sys.executable} -m labkit sample path v1)\" "
       f">/dev/null && "
       f"docker push {uri}:v1 >/dev/null", other)

    # I may log in to team-b's registry (a token opens any registry; policies decide) ...
    sh(f"aws ecr get-login-password | docker login --username AWS --password-stdin {registry}",
       me)
    resource = f"arn:aws:ecr:{lab.region}:{b}:repository/{REPO}"
    denied = sh(f"docker pull {uri}:v1", me, check=False)
    assert denied.returncode != 0
    assert ACCESS["deny_no_resource_policy"]["message"].format(
        principal=mine["Arn"], action="ecr:BatchGetImage", resource=resource) in denied.stderr, \
        denied.stderr
    api = aws(me, "ecr", "describe-images", "--registry-id", b, "--repository-name", REPO,
              check=False)
    assert api.returncode != 0 and "AccessDeniedException" in api.stderr
    assert "because no resource-based policy allows the ecr:DescribeImages action" in api.stderr

    # `labkit explain` says whose policy must change, and prints team-b's command
    explained = json.loads(labkit(me, "explain", "--json").stdout)
    assert explained["case"] == "cross-account-denied", explained
    assert explained["why"][0].startswith(f"{REPO} belongs to account {b}"), explained["why"]
    assert explained["fix"].startswith(f"aws ecr set-repository-policy --repository-name {REPO}")
    sh(explained["fix"], other)  # run as printed, by team-b
    sh(f"docker pull {uri}:v1", me)

    # team-b grants my account the pull actions and DescribeImages on that repository
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "PullFromTeamA", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{mine['Account']}:root"}, "Action": PULL}]}
    aws(other, "ecr", "set-repository-policy", "--repository-name", REPO, "--policy-text",
        json.dumps(policy))
    sh(f"docker pull {uri}:v1", me)
    details = json.loads(aws(me, "ecr", "describe-images", "--registry-id", b,
                             "--repository-name", REPO).stdout)["imageDetails"]
    assert [d["imageTags"] for d in details] == [["v1"]]
    assert details[0]["registryId"] == b

    # ... so it is a base image of mine: FROM team-b's registry, pulled by the build
    sh(f"docker rmi {uri}:v1", me)
    context = tmp_path / "mine"
    context.mkdir()
    (context / "note.txt").write_text("team a's layer\n")  # a layer team-b's repository lacks
    (context / "Dockerfile").write_text(f"FROM {uri}:v1\nCOPY note.txt /note.txt\n")
    sh(f"DOCKER_BUILDKIT=0 docker build -q -t {lab.registry}/on-b:v1 {context}", me)

    # the grant is for pulling: my push to team-b's repository is still refused
    sh(f"docker tag {lab.registry}/on-b:v1 {uri}:mine", me)
    push = sh(f"docker push {uri}:mine", me, check=False)
    assert push.returncode != 0
    assert ACCESS["deny_no_resource_policy"]["message"].format(
        principal=mine["Arn"], action="ecr:InitiateLayerUpload", resource=resource) \
        in push.stderr, push.stderr
