"""Which AWS service a request is for (labkit/lab/awsapi.py), and the answer for the others."""

from __future__ import annotations

import json

from werkzeug.test import Client

from labkit.lab.awsapi import AwsApis, service_of

SIGV4 = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/{}/aws4_request, "
         "SignedHeaders=host;x-amz-date, Signature=abc")


def test_service_comes_from_the_credential_scope() -> None:
    assert service_of({"HTTP_AUTHORIZATION": SIGV4.format("ecr")}) == "ecr"
    assert service_of({"HTTP_AUTHORIZATION": SIGV4.format("sts")}) == "sts"
    assert service_of({"HTTP_AUTHORIZATION": SIGV4.format("s3")}) == "s3"


def test_unsigned_ecr_target_is_ecr_and_nothing_else_is_anything() -> None:
    target = "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories"
    assert service_of({"HTTP_X_AMZ_TARGET": target}) == "ecr"
    assert service_of({}) is None
    assert service_of({"HTTP_AUTHORIZATION": "Basic QVdTOng="}) is None


def test_other_services_get_a_clear_error() -> None:
    r = Client(AwsApis()).post("/", headers={"Authorization": SIGV4.format("sqs")},
                               data="Action=ListQueues")
    assert r.status_code == 400
    doc = json.loads(r.get_data())
    assert doc["__type"] == "UnsupportedService"
    assert "'sqs'" in doc["message"] and "ECR" in doc["message"]
