"""Identities in other processes: they survive a restart (a new interpreter on the same home),
and the AWS CLI acts as them. (The in-process tests: tests/unit/access/test_identities.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from labkit.config import LAB_ACCESS_KEY
from labkit.lab.access import AccessControl
from labkit.lab.auth.signing import Signer
from tests.unit.access.harness import Lab, new_account, serve
from tests.unit.access.test_identities import PULL, _trust, make_user

AFTER_RESTART = r"""
import json, sys
from pathlib import Path
from botocore.exceptions import ClientError
from labkit.lab.access import AccessControl
from labkit.lab.auth.signing import Signer
from tests.unit.access.harness import serve

args = json.loads(sys.stdin.read())
home = Path(args["home"])
control = AccessControl(home, Signer(b"k" * 32), "lab", account=args["account"])
out = {}
for lab in serve(control, home):
    def who(*creds):
        try:
            return lab.client("sts", *creds).get_caller_identity()["Arn"]
        except ClientError as e:
            return e.response["Error"]["Code"]
    out["ci"] = who(*args["ci"])
    out["b"] = who(*args["b"])
    out["session"] = who(*args["session"])
    out["deleted"] = who(*args["deleted"])
    ecr = lab.client("ecr", *args["ci"])
    ecr.batch_get_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])
    try:
        ecr.put_image(repositoryName="app", imageManifest="{}")
        out["push"] = "allowed"
    except ClientError as e:
        out["push"] = e.response["Error"]["Code"]
    out["users"] = sorted(u["UserId"] for u in lab.client("iam").list_users()["Users"])
    out["accounts"] = control.store.accounts()
print(json.dumps(out))
"""


def test_identities_survive_a_restart(tmp_path: Path) -> None:
    """Users, keys, policies, accounts and live sessions, in a new process on the same home."""
    home, account = tmp_path, new_account()
    control = AccessControl(home, Signer(b"k" * 32), "lab", account=account)
    for lab in serve(control, home):
        ci = make_user(lab, "ci", PULL)
        b = lab.control.create_account("team-b")
        iam = lab.client("iam")
        role = iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=_trust(
            f"arn:aws:iam::{account}:user/learner"))["Role"]["Arn"]
        c = lab.client("sts").assume_role(RoleArn=role, RoleSessionName="s1")["Credentials"]
        session = (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
        deleted = make_user(lab, "gone")
        iam.delete_access_key(UserName="gone", AccessKeyId=deleted[0])
        users_before = sorted(u["UserId"] for u in iam.list_users()["Users"])
    args = {"home": str(home), "account": account, "ci": ci, "session": session,
            "b": (b.access_key_id, b.secret_access_key), "deleted": deleted}
    done = subprocess.run([sys.executable, "-c", AFTER_RESTART], input=json.dumps(args),
                          capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).parents[3])
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["ci"] == f"arn:aws:iam::{account}:user/ci"
    assert out["push"] == "AccessDeniedException"  # its policy came back with it
    assert out["b"] == f"arn:aws:iam::{b.account_id}:user/admin"
    assert out["session"] == f"arn:aws:sts::{account}:assumed-role/deployer/s1"
    assert out["deleted"] == "InvalidClientTokenId"
    assert out["users"] == users_before  # same ids: replayed with the same seeds
    assert out["accounts"][b.account_id] == "team-b"
    journal = home / "access" / "journal.jsonl"
    assert oct(journal.stat().st_mode & 0o777) == "0o600"
    assert ci[1] not in journal.read_text()  # secrets come back from seeds, not from the file



def _aws(lab: Lab, *args: str, key: str = LAB_ACCESS_KEY, secret: str | None = None,
         region: str = "us-east-1") -> subprocess.CompletedProcess[str]:
    import os

    from labkit.config import LAB_SECRET_KEY

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret or LAB_SECRET_KEY,
               AWS_DEFAULT_REGION=region, AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    aws = Path(sys.executable).with_name("aws")
    return subprocess.run([str(aws), "--endpoint-url", lab.url, "--output", "json", *args],
                          env=env, capture_output=True, text=True, timeout=120)


def test_the_aws_cli_as_the_new_identities(lab: Lab) -> None:
    """The course's own commands: an account's admin makes a user in its account, the user
    sees who it is, and is refused by ECR with ECR's sentence (as the CLI renders it)."""
    b = lab.control.create_account("cli")
    made = _aws(lab, "iam", "create-user", "--user-name", "ci", key=b.access_key_id,
                secret=b.secret_access_key, region="eu-west-1")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["User"]["Arn"] == f"arn:aws:iam::{b.account_id}:user/ci"
    key = json.loads(_aws(lab, "iam", "create-access-key", "--user-name", "ci",
                          key=b.access_key_id, secret=b.secret_access_key).stdout)["AccessKey"]
    who = _aws(lab, "sts", "get-caller-identity", key=key["AccessKeyId"],
               secret=key["SecretAccessKey"])
    assert json.loads(who.stdout)["Arn"] == f"arn:aws:iam::{b.account_id}:user/ci"
    refused = _aws(lab, "ecr", "get-authorization-token", key=key["AccessKeyId"],
                   secret=key["SecretAccessKey"])
    assert refused.returncode != 0
    assert (f"An error occurred (AccessDeniedException) when calling the GetAuthorizationToken "
            f"operation: User: arn:aws:iam::{b.account_id}:user/ci is not authorized to perform:"
            " ecr:GetAuthorizationToken on resource: * because no identity-based policy allows "
            "the ecr:GetAuthorizationToken action") in refused.stderr
    wrong = _aws(lab, "ecr", "describe-repositories", secret="nope")
    assert "(InvalidSignatureException)" in wrong.stderr
