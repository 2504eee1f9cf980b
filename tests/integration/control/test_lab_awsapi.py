"""The lab's AWS side beyond ECR (labkit/lab/awsapi.py): STS answers who the caller is, as the
seed's `aws sts get-caller-identity` check expects; other services get a clear error."""

from __future__ import annotations

import subprocess

import boto3
import pytest
from botocore.exceptions import ClientError

from labkit import config
from tests.conftest import lab_environ


def client(lab, service: str):  # noqa: ANN001, ANN201
    return boto3.client(service, endpoint_url=lab.endpoint_url, region_name=lab.region,
                        aws_access_key_id=config.LAB_ACCESS_KEY,
                        aws_secret_access_key=config.LAB_SECRET_KEY)


def test_sts_get_caller_identity_names_the_lab_account(lab) -> None:  # noqa: ANN001
    who = client(lab, "sts").get_caller_identity()
    assert who["Account"] == config.LAB_ACCOUNT_ID


def test_aws_cli_sts_get_caller_identity(lab, require_aws_cli) -> None:  # noqa: ANN001
    out = subprocess.run(["aws", "sts", "get-caller-identity", "--query", "Account",
                          "--output", "text"], env=lab_environ(lab), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == config.LAB_ACCOUNT_ID


def test_another_service_gets_a_clear_error(lab) -> None:  # noqa: ANN001
    with pytest.raises(ClientError) as err:
        client(lab, "sqs").list_queues()
    text = str(err.value)
    assert "UnsupportedService" in text or "ECR" in text, text
    assert client(lab, "ecr").describe_repositories()["repositories"] is not None
