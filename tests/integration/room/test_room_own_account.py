"""What a learner does to their own account in a room (issue 20): the clock, token lifetime,
lifecycle runs and second account that notebooks 02, 05b and 08 use, with the real commands
(`labkit lab clock|lifecycle|account`, the AWS CLI, the built-in docker) as each learner types
them after `eval "$(labkit lab env)"`. Each acts on that learner's account and nobody else's:
ada's next morning expires ada's login, not grace's; ada's two weeks age ada's images only;
nobody moves the room's own clock; the lab's own account is not the kit's published keys."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from labkit import config
from tests.integration.room.test_classroom import in_room, labkit, learner, room  # noqa: F401

LABKIT = f"{sys.executable} -m labkit"
LOGIN = "aws ecr get-login-password | docker login --username AWS --password-stdin $REGISTRY " \
        ">/dev/null 2>&1"
KEEP_ONE_WEEK = json.dumps({"rules": [{
    "rulePriority": 1, "description": "nightlies live a week",
    "selection": {"tagStatus": "tagged", "tagPrefixList": ["nightly"],
                  "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7},
    "action": {"type": "expire"}}]})


def _pushed(env: dict[str, str], repository: str) -> None:
    in_room(env, f"aws ecr create-repository --repository-name {repository} >/dev/null && "
                 f"{LOGIN} && docker build -q -t $REGISTRY/{repository}:nightly-1 "
                 f"\"$({LABKIT} sample path v1)\" >/dev/null && "
                 f"docker push $REGISTRY/{repository}:nightly-1 >/dev/null && "
                 f"aws ecr put-lifecycle-policy --repository-name {repository} "
                 f"--lifecycle-policy-text '{KEEP_ONE_WEEK}' >/dev/null")


def _tags(env: dict[str, str], repository: str) -> str:
    return in_room(env, f"aws ecr describe-images --repository-name {repository} --query "
                        "'imageDetails[].imageTags[]' --output text").stdout.strip()


def test_each_learner_moves_only_their_own_account(room: dict[str, Any],  # noqa: F811
                                                  tmp_path: Path) -> None:
    from labkit.lab import process

    ada, grace = learner(tmp_path, "ada", "builtin"), learner(tmp_path, "grace", "builtin")
    for env, name in ((ada, "ada"), (grace, "grace")):
        labkit(env, "classroom", *room["lines"][name].split()[2:])
    instructor = process.running(room["home"])

    # 08: the next morning, for ada's tokens: ada's login of today has expired, grace's not
    _pushed(ada, "hello-nightly")
    _pushed(grace, "hello-nightly")
    moved = in_room(ada, f"{LABKIT} lab clock advance 13h --tokens").stdout
    assert moved.startswith("your token clock in the room: ") and "13h 0m ahead" in moved
    expired = in_room(ada, "docker pull $REGISTRY/hello-nightly:nightly-1", check=False)
    assert expired.returncode != 0 and "Your authorization token has expired" in expired.stderr
    told = json.loads(in_room(ada, f"{LABKIT} explain --json").stdout)
    assert told["case"] == "expired", told
    in_room(grace, "docker pull $REGISTRY/hello-nightly:nightly-1 >/dev/null")  # still valid
    in_room(ada, f"{LOGIN} && docker pull $REGISTRY/hello-nightly:nightly-1 >/dev/null")
    assert "0s ahead" in in_room(ada, f"{LABKIT} lab clock reset --tokens").stdout

    # 05b's exercise: two weeks pass for ada's images; ada's nightly expires, grace's stays
    assert "14d 0h ahead" in in_room(ada, f"{LABKIT} lab clock advance 14d").stdout
    ran = in_room(ada, f"{LABKIT} lab lifecycle run --repository hello-nightly").stdout
    assert "hello-nightly: expired 1 image(s)" in ran and "nightly-1" in ran, ran
    assert _tags(ada, "hello-nightly") == ""
    kept = in_room(grace, f"{LABKIT} lab lifecycle run --repository hello-nightly").stdout
    assert "hello-nightly: expired 0 image(s)" in kept, kept
    assert _tags(grace, "hello-nightly") == "nightly-1"
    assert instructor.clock()["offset"] == 0  # the room's own clock did not move
    unknown = in_room(ada, f"{LABKIT} lab lifecycle run --repository nothing-here", check=False)
    assert unknown.returncode == 2 and "has no lifecycle policy" in unknown.stderr

    # 02's exercise (the notebook calls the lab object): ada's tokens live a minute, grace's
    # still twelve hours
    def ttl(env: dict[str, str], seconds: int | None = None) -> float:
        """The learner's token lifetime, as the course's lab object sets and reads it."""
        code = ("from labkit.room.remote import room_lab; lab = room_lab(); "
                + (f"lab.set_token_ttl({seconds}); " if seconds else "")
                + "print(lab.status()['token_ttl'])")
        return float(in_room(env, f"{sys.executable} -c \"{code}\"").stdout)

    def lifetime(env: dict[str, str]) -> float:
        out = in_room(env, "date +%s; aws ecr get-authorization-token --query "
                           "'authorizationData[0].expiresAt' --output text").stdout.split()
        return float(out[1]) - float(out[0])

    assert ttl(ada, 60) == 60 and ttl(grace) == 43200
    assert lifetime(ada) <= 61 and lifetime(grace) > 11 * 3600
    assert ttl(ada, 43200) == 43200

    # 08's platform team: a second account of ada's, the same one each time, at most three
    first = in_room(ada, f"{LABKIT} lab account create platform").stdout
    again = in_room(ada, f"{LABKIT} lab account create platform").stdout
    account = first.split()[2]
    assert "(ada/platform)" in first and again.split()[2] == account and "already there" in again
    platform = in_room(ada, f'eval "$({LABKIT} lab account create platform)" && '
                            "aws sts get-caller-identity --query Account --output text && "
                            "aws ecr create-repository --repository-name hello-base >/dev/null && "
                            "echo $REGISTRY").stdout.split()
    assert platform[0] == account and platform[1] != in_room(ada, "echo $REGISTRY").stdout.strip()
    for name in ("build", "audit"):
        in_room(ada, f"{LABKIT} lab account create {name} >/dev/null")
    fourth = in_room(ada, f"{LABKIT} lab account create extra", check=False)
    assert fourth.returncode == 2 and "a learner may make 3 accounts" in fourth.stderr
    listing = in_room(ada, f"{LABKIT} lab account list", check=False)
    assert listing.returncode == 2 and "instructor's" in listing.stderr
    # grace's platform is grace's, another account
    assert in_room(grace, f"{LABKIT} lab account create platform").stdout.split()[2] != account

    # the board: ada's platform work is on ada's row, and no row is a second account
    rows = {r["name"]: r for r in instructor.board()["rows"]}
    assert set(rows) == {"lab", "ada", "grace"}, set(rows)


def test_nobody_moves_the_rooms_own_clock(room: dict[str, Any],  # noqa: F811
                                          tmp_path: Path) -> None:
    """Hostile requests to the learners' endpoints: unsigned, signed with the kit's published
    keys (the lab's own account on a laptop), with a forged signature, with grace's keys for
    ada's account; then the lab's own account refuses the published keys altogether."""
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from botocore.exceptions import ClientError

    from labkit.lab import process

    instructor = process.running(room["home"])
    base, verify = instructor.endpoint_url, str(instructor.ca_file)

    def signed(path: str, doc: dict[str, Any], key_id: str, secret: str) -> requests.Response:
        body = json.dumps(doc).encode()
        request = AWSRequest(method="POST", url=f"{base}{path}", data=body,
                             headers={"Content-Type": "application/json"})
        SigV4Auth(Credentials(key_id, secret), "ecr", "us-east-1").add_auth(request)
        return requests.post(f"{base}{path}", data=body, headers=dict(request.headers),
                             timeout=30, verify=verify)

    advance = {"advance": "30d"}
    for path in ("/_labkit/room/clock", "/_labkit/room/settings", "/_labkit/room/accounts",
                 "/_labkit/room/lifecycle/run"):
        unsigned = requests.post(f"{base}{path}", json=advance, timeout=30, verify=verify)
        assert unsigned.status_code == 403, (path, unsigned.text)
        published = signed(path, advance, config.LAB_ACCESS_KEY, config.LAB_SECRET_KEY)
        assert published.status_code == 403, (path, published.text)
    # the lab's own account, with the instructor's (private) keys: not a learner's endpoint
    env = instructor.env()
    assert env["AWS_ACCESS_KEY_ID"] != config.LAB_ACCESS_KEY
    own = signed("/_labkit/room/clock", advance, env["AWS_ACCESS_KEY_ID"],
                 env["AWS_SECRET_ACCESS_KEY"])
    assert own.status_code == 403 and "the instructor's" in own.json()["error"], own.text
    # a learner's key with a wrong secret
    grace = learner(tmp_path, "grace", "builtin")
    labkit(grace, "classroom", *room["lines"]["grace"].split()[2:])
    creds = Path(grace["AWS_SHARED_CREDENTIALS_FILE"]).read_text().split()
    key_id = creds[creds.index("aws_access_key_id") + 2]
    forged = signed("/_labkit/room/clock", advance, key_id, "not-her-secret")
    assert forged.status_code == 403 and "InvalidSignatureException" in forged.json()["error"]
    assert instructor.clock()["offset"] == 0

    # six second accounts asked for at once: three are made, three refused
    from concurrent.futures import ThreadPoolExecutor

    secret = creds[creds.index("aws_secret_access_key") + 2]
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda i: signed("/_labkit/room/accounts", {"name": f"t{i}"},
                                                 key_id, secret), range(6)))
    assert sorted(a.status_code for a in answers) == [201] * 3 + [403] * 3, \
        [a.text for a in answers]

    # the published keys open nothing in a room: not the API, not a registry login
    published = boto3.client("ecr", endpoint_url=base, region_name="us-east-1", verify=verify,
                             aws_access_key_id=config.LAB_ACCESS_KEY,
                             aws_secret_access_key=config.LAB_SECRET_KEY)
    with pytest.raises(ClientError) as refused:
        published.describe_repositories()
    assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"


pytestmark = pytest.mark.slow
