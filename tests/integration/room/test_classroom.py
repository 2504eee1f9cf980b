"""A workshop room end to end, with the real commands (issue 20): the instructor's `labkit
classroom up` makes a TLS lab and a join line per learner (its code and the room CA's
fingerprint); each learner's `labkit classroom join LINE` checks the CA against the line, writes
an AWS profile and docker's certs.d trust, and `eval "$(labkit lab env)"` then points the AWS
CLI (verifying the room with its CA) and the docker CLI (the real one where a Docker Engine
answers; the built-in one, which trusts the room with no system change) at the room, as that
learner. Learners are confined to their own accounts; a wrong code is refused, a forged
fingerprint sends nothing, a guessing spree pauses joins; `labkit classroom leave` restores the
learner's AWS files and removes the trust it added."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import forget_images_of, free_port
from tests.integration.cli.test_cli_commands import Ran
from tests.integration.lab.test_lab_seed_flow import sh

EXISTING_CONFIG = "[default]\nregion = eu-west-1\n\n[profile work]\nregion = us-west-2\n"


SEEN: set = set()  # every classroom command and option this module ran (Ran.covers)


def labkit(env: dict[str, str], *args: str, check: bool = True
           ) -> subprocess.CompletedProcess[str]:
    """`labkit ARGS` as the learner or instructor types it, recorded for `covers`."""
    ran = Ran(env, Path.cwd())
    ran.seen = SEEN
    return ran(*args, code=0 if check else None, timeout=180)


def learner(tmp: Path, name: str, engine: str) -> dict[str, str]:
    """A learner's machine: own labkit home, AWS files (with a profile of their own already
    there), docker config; nothing of the test's own AWS settings."""
    root = tmp / name
    (root / "aws").mkdir(parents=True)
    (root / "aws" / "config").write_text(EXISTING_CONFIG)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LABKIT_"))}
    env.update(LABKIT_HOME=str(root / "labkit"), AWS_CONFIG_FILE=str(root / "aws" / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(root / "aws" / "credentials"),
               DOCKER_CONFIG=str(root / "docker"), LABKIT_ENGINE=engine, DOCKER_BUILDKIT="0")
    return env


def in_room(env: dict[str, str], cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`cmd` in a shell that ran `eval "$(labkit lab env)"` (and must not start a lab)."""
    return sh(f'eval "$({sys.executable} -m labkit lab env --no-start)" && {cmd}', env, check)


@pytest.fixture()
def room(tmp_path: Path, require_aws_cli: None) -> Any:
    home, port = tmp_path / "instructor", free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LABKIT_"))}
    up = labkit(env, "classroom", "up", "--names", "ada,grace", "--home", str(home),
                "--port", str(port), "--host", "127.0.0.1",
                "--address", "localhost")  # a name, as a LAN's would be
    lines = {ln.split()[0]: ln.split(None, 1)[1] for ln in up.stdout.splitlines()
             if not ln.startswith("#")}
    yield {"home": home, "port": port, "lines": lines, "stdout": up.stdout}
    for state in tmp_path.glob("*/labkit/room.json"):  # a learner the test left in the room:
        labkit({**env, "LABKIT_HOME": str(state.parent)}, "classroom", "leave")  # its trust goes
    from labkit.lab import process

    running = process.running(home)
    registries = [h for a in (running.status().get("accounts") or {}).values()
                  for h in a.values()] if running else []
    process.stop(home)
    for registry in registries:
        forget_images_of(registry)


def test_a_room_two_learners_confined_then_gone(room: dict[str, Any], tmp_path: Path) -> None:
    home, lines = room["home"], room["lines"]
    assert set(lines) == {"ada", "grace"}
    join_file = home / "room" / "join.txt"
    assert (join_file.stat().st_mode & 0o777) == 0o600
    assert join_file.read_text().splitlines() == [f"{n}  {ln}" for n, ln in lines.items()]
    assert all(ln.split()[-1].startswith("https://localhost:") and "#ca=" in ln
               for ln in lines.values())  # TLS by default, the CA's fingerprint in the line
    codes = {n: ln.split()[-1].split("#")[0].rsplit("/", 1)[1] for n, ln in lines.items()}
    roster = (home / "room" / "roster.json").read_text()
    assert not any(code in roster or code.replace("-", "") in roster for code in codes.values())

    # a line whose fingerprint is not the room's CA: refused before the code is sent
    url = lines["ada"].split()[-1]
    forged = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
    tampered = labkit(learner(tmp_path, "mallory", "builtin"), "classroom", "join", forged,
                      check=False)
    assert tampered.returncode == 2 and "is not the one your join line names" in tampered.stderr

    engine = "docker" if subprocess.run(["docker", "info"], capture_output=True).returncode == 0 \
        else "builtin"
    ada, grace = learner(tmp_path, "ada", engine), learner(tmp_path, "grace", "builtin")
    for env, name in ((ada, "ada"), (grace, "grace")):
        joined = labkit(env, "classroom", *lines[name].split()[2:])
        assert f"joined the room as {name}" in joined.stdout
        assert "aws_secret_access_key" not in joined.stdout + joined.stderr

    # ada's terminal: the AWS CLI and docker reach the room as ada, in ada's own account
    me = in_room(ada, "aws sts get-caller-identity --query Arn --output text").stdout.strip()
    assert me.endswith(":user/admin") and ":123456789012:" not in me
    uri = in_room(ada, "aws ecr create-repository --repository-name hello-app --query "
                       "repository.repositoryUri --output text").stdout.strip()
    assert uri == in_room(ada, "echo $REGISTRY/hello-app").stdout.strip()  # the room's name
    assert uri.startswith("localhost:")
    in_room(ada, "aws ecr get-login-password | docker login --username AWS --password-stdin "
                 "$REGISTRY >/dev/null")
    in_room(ada, f"docker build -q -t $REGISTRY/hello-app:v1 "
                 f"\"$({sys.executable} -m labkit sample path v1)\" >/dev/null && "
                 "docker push $REGISTRY/hello-app:v1 >/dev/null")
    ada_registry = in_room(ada, "echo $REGISTRY").stdout.strip()
    certs_d = Path("/etc/docker/certs.d") / ada_registry / "ca.crt"
    if os.access("/etc", os.W_OK):  # root (CI): join put the room's CA where docker looks
        assert certs_d.read_bytes() == (Path(ada["LABKIT_HOME"]) / "room-ca.crt").read_bytes()
    # the AWS CLI verifies the room: without the CA it refuses the certificate
    unverified = in_room(ada, "aws ecr describe-repositories --ca-bundle "
                              "/etc/ssl/certs/ca-certificates.crt", check=False)  # the system's
    assert unverified.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in unverified.stderr

    # grace sees none of it, and ada's registry refuses grace's token
    assert in_room(grace, "aws ecr describe-repositories --query 'repositories[].repositoryName' "
                          "--output text").stdout.strip() == ""
    grace_registry = in_room(grace, "echo $REGISTRY").stdout.strip()
    assert grace_registry != ada_registry
    denied = in_room(grace, f"aws ecr get-login-password | docker login --username AWS "
                            f"--password-stdin {ada_registry} >/dev/null && "
                            f"docker pull {ada_registry}/hello-app:v1", check=False)
    assert denied.returncode != 0
    assert "because no resource-based policy allows the ecr:BatchGetImage action" in \
        denied.stdout + denied.stderr, denied.stderr

    # `labkit explain` in a room reads the learner's own requests (signed with their keys):
    # grace's refusal is hers to see, and ada's explain has nothing of it
    told = json.loads(in_room(grace, f"{sys.executable} -m labkit explain --json").stdout)
    assert told["case"] == "cross-account-denied", told
    assert json.loads(in_room(ada, f"{sys.executable} -m labkit explain --json").stdout) == {
        "refused": False}

    # a wrong code: 403 with a clear message; a guessing spree pauses every join (429)
    port = room["port"]
    pin = lines["ada"].split("#", 1)[1]
    wrong = labkit(learner(tmp_path, "eve", "builtin"), "classroom", "join",
                   f"https://localhost:{port}/AAAAA-AAAAA#{pin}", check=False)
    assert wrong.returncode == 2 and "(403)" in wrong.stderr and "join code" in wrong.stderr
    for i in range(10):
        labkit(learner(tmp_path, f"eve{i}", "builtin"), "classroom", "join",
               f"https://localhost:{port}/BBBBB-BBBB{i}#{pin}", check=False)
    paused = labkit(learner(tmp_path, "late", "builtin"), "classroom", *lines["ada"].split()[2:],
                    check=False)
    assert paused.returncode == 2 and "(429)" in paused.stderr, paused.stderr

    # leave: the learner's AWS files are as they were; lab env is a local lab's again
    left = labkit(ada, "classroom", "leave")
    assert "left the room (ada)" in left.stdout
    assert Path(ada["AWS_CONFIG_FILE"]).read_text().split() == EXISTING_CONFIG.split()
    assert "labkit-room" not in Path(ada["AWS_SHARED_CREDENTIALS_FILE"]).read_text()
    assert not certs_d.exists() and not (Path(ada["LABKIT_HOME"]) / "room-ca.crt").exists()
    status = labkit(ada, "classroom", "status").stdout
    assert status.startswith("no room")
    assert labkit(grace, "classroom", "status").stdout.startswith("in a room as grace")
    assert labkit(ada, "lab", "env", "--no-start", check=False).returncode == 3  # no local lab

    up_refuses_what_it_cannot_serve(tmp_path)
    ran = Ran(ada, tmp_path)
    ran.seen = SEEN
    ran.covers("classroom")  # every classroom command and documented option ran above


def up_refuses_what_it_cannot_serve(tmp_path: Path) -> None:
    """Before anything starts: no learner named; all interfaces without the address learners
    use (plain HTTP or not)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LABKIT_"))}
    home = tmp_path / "nothing"
    none = labkit(env, "classroom", "up", "--learners", "0", "--home", str(home), check=False)
    assert none.returncode == 2 and "name at least one learner" in none.stderr
    wide = labkit(env, "classroom", "up", "--learners", "3", "--host", "0.0.0.0", "--no-tls",
                  "--home", str(home), check=False)
    assert wide.returncode == 2 and "--address" in wide.stderr
    assert not (home / "lab.json").exists()  # no lab was started
