"""The instructor's board against a real lab: two learners, each an account of the lab, work
with the real AWS CLI and labkit's built-in engine (`python -m labkit docker`, a DOCKER_CONFIG
each); the board's JSON shows each one's steps and last failure, explained as `labkit explain`
would; `labkit lab board` opens it in a browser session; a learner's credentials open nothing.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import lab_environ
from tests.integration.lab.labs import aws, labkit
from tests.integration.lab.test_lab_accounts import _account
from tests.integration.lab.test_lab_seed_flow import sh

DOCKER = f"{sys.executable} -m labkit docker"
SAMPLE = f"\"$({sys.executable} -m labkit sample path {{v}})\""


def _builtin(env: dict[str, str], tmp: Path, name: str) -> dict[str, str]:
    """A learner's shell with the built-in engine, an engine store and a docker config each."""
    return dict(env, LABKIT_ENGINE="builtin", LABKIT_ENGINE_HOME=str(tmp / f"engine-{name}"),
                DOCKER_CONFIG=str(tmp / f"docker-{name}"))


def _login(env: dict[str, str], registry: str) -> None:
    sh(f"aws ecr get-login-password | {DOCKER} login --username AWS --password-stdin {registry}",
       env)


def _push(env: dict[str, str], ref: str, version: str, check: bool = True) -> Any:
    return sh(f"{DOCKER} build -q -t {ref} {SAMPLE.format(v=version)} >/dev/null && "
              f"{DOCKER} push {ref}", env, check=check)


def _sigv4(env: dict[str, str], url: str) -> dict[str, str]:
    """The headers the AWS SDK signs a GET with, for the keys of `env` (a learner's)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]), "ecr",
              env["AWS_DEFAULT_REGION"]).add_auth(request)
    return dict(request.headers)


@pytest.mark.timeout(300)
def test_the_board_shows_each_learners_steps_and_last_failure(
        private_lab: Any, tmp_path: Path, require_aws_cli: None) -> None:
    lab = private_lab
    base = lab_environ(lab)
    b, team_b = _account(base, "team-b", tmp_path)
    ada, bob = _builtin(base, tmp_path, "ada"), _builtin(team_b, tmp_path, "bob")

    # ada, the lab's own learner: the course up to the pull
    aws(ada, "ecr", "create-repository", "--repository-name", "hello-app")
    _login(ada, lab.registry)
    ref = f"{lab.registry}/hello-app"
    _push(ada, f"{ref}:v1", "v1")
    _push(ada, f"{ref}:v2", "v2")
    sh(f"{DOCKER} pull {ref}:v1", ada)

    # bob, of team-b: logs in to his account's registry, pushes twice before creating it
    password = aws(bob, "ecr", "get-login-password").stdout.strip()
    registry = lab.status()["accounts"][b][lab.region]
    sh(f'printf %s "$PASSWORD" | {DOCKER} login --username AWS --password-stdin {registry}',
       dict(bob, PASSWORD=password))  # never in a command line a failure would print
    for _ in range(2):
        refused = _push(bob, f"{registry}/hello-app:v1", "v1", check=False)
        assert refused.returncode != 0 and "name unknown" in refused.stderr, refused.stderr

    doc = lab.board(repeats=2)
    rows = {r["account"]: r for r in doc["rows"]}
    assert list(rows) == [lab.account_id, b]
    assert (rows[lab.account_id]["name"], rows[b]["name"]) == ("lab", "team-b")
    assert set(rows[lab.account_id]["steps"]) == {"created", "logged_in", "pushed", "reused",
                                                  "pulled"}
    assert rows[lab.account_id]["failure"] is None and rows[lab.account_id]["flags"] == []
    assert set(rows[b]["steps"]) == {"logged_in"}
    failure = rows[b]["failure"]
    assert failure["case"] == "no-repository", failure
    assert failure["answered"].startswith("404 NAME_UNKNOWN")
    assert f"registry with id '{b}'" in failure["answered"]
    assert failure["fix"] == "aws ecr create-repository --repository-name hello-app"
    assert failure["attempts"] == 2 and not failure["resolved"]
    assert rows[b]["flags"] == ["stuck: the same failure 2 times"]
    # ... as `labkit explain` tells bob in his terminal
    told = json.loads(labkit(bob, "explain", "--json").stdout)
    assert (told["case"], told["fix"], told["answered"]) == (
        failure["case"], failure["fix"], failure["answered"])

    # `labkit lab board --csv`: the same rows, as a table
    out = labkit(base, "lab", "board", "--csv", "--repeats", "2")
    assert out.returncode == 0, out.stderr
    table = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [t["account"] for t in table] == [lab.account_id, b]
    assert table[0]["v2 pushed, layers reused"] and not table[1]["v1 pushed"]
    assert table[1]["fix"] == failure["fix"] and table[1]["flags"].startswith("stuck")

    # `labkit lab board`: a URL whose ticket opens a browser session, once
    url = labkit(base, "lab", "board").stdout.strip()
    assert url.startswith(f"{lab.endpoint_url}/_labkit/board?ticket="), url
    browser = requests.Session()
    opened = browser.get(url, allow_redirects=False, timeout=10)
    assert opened.status_code == 303 and "HttpOnly" in opened.headers["Set-Cookie"]
    page = browser.get(f"{lab.endpoint_url}/_labkit/board", timeout=10)
    assert page.status_code == 200 and "The room's board" in page.text
    seen = browser.get(f"{lab.endpoint_url}/_labkit/board/rows?repeats=2", timeout=10).json()
    assert [(r["account"], r["steps"]) for r in seen["rows"]] == [
        (r["account"], r["steps"]) for r in doc["rows"]]
    assert requests.get(url, allow_redirects=False, timeout=10).status_code == 403  # spent

    # a learner's credentials open nothing: registry token, SigV4 keys, or none
    for path in ("/_labkit/board", "/_labkit/board/rows", "/_labkit/board/rows.csv"):
        target = f"{lab.endpoint_url}{path}"
        basic = "Basic " + base64.b64encode(f"AWS:{password}".encode()).decode()
        for headers in ({}, {"Authorization": basic}, _sigv4(team_b, target),
                        _sigv4(base, target)):
            r = requests.get(target, headers=headers, timeout=10)
            assert r.status_code == 403, (path, headers.get("Authorization", "")[:20])
            assert "rows" not in r.text and "access-control-allow-origin" not in r.headers
