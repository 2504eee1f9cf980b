"""Never AWS by accident: the lab target ignores the user's AWS setup and talks to loopback only.

A real moto server on a loopback port plays the lab's control plane; the environment is filled
with settings that would send a careless client to AWS (profile, keys, endpoint, FIPS).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import botocore.endpoint
import pytest
from moto.server import ThreadedMotoServer

from labkit import config
from labkit.ecr.target import Target, connect
from tests.conftest import free_port


@dataclass
class StandInLab:
    """The attributes of labkit.lab.Lab the target reads."""

    endpoint_url: str
    registry: str
    region: str = "us-east-1"
    account_id: str = config.LAB_ACCOUNT_ID

    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": config.LAB_ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": config.LAB_SECRET_KEY}


@pytest.fixture(scope="module")
def moto_lab() -> Iterator[StandInLab]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield StandInLab(f"http://127.0.0.1:{port}", f"127.0.0.1:{port}")
    finally:
        server.stop()


@pytest.fixture()
def hostile_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # noqa: ANN001
    """Everything that would steer a default boto3 client to real AWS."""
    aws_dir = tmp_path / "aws"
    aws_dir.mkdir()
    (aws_dir / "config").write_text("[profile real]\nregion = eu-west-1\n"
                                    "endpoint_url = https://ecr.eu-west-1.amazonaws.com\n")
    (aws_dir / "credentials").write_text("[real]\naws_access_key_id = AKIAREALREALREAL0000\n"
                                         "aws_secret_access_key = real-secret\n")
    env = {"AWS_PROFILE": "real", "AWS_CONFIG_FILE": str(aws_dir / "config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(aws_dir / "credentials"),
           "AWS_ACCESS_KEY_ID": "AKIAREALENVKEY000000", "AWS_SECRET_ACCESS_KEY": "env-secret",
           "AWS_SESSION_TOKEN": "env-token", "AWS_DEFAULT_REGION": "eu-west-1",
           "AWS_ENDPOINT_URL": "https://ecr.eu-west-1.amazonaws.com",
           "AWS_ENDPOINT_URL_ECR": "https://ecr.eu-west-1.amazonaws.com",
           "AWS_USE_FIPS_ENDPOINT": "true", "AWS_CA_BUNDLE": str(tmp_path / "missing.pem")}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("LABKIT_TARGET", raising=False)


@pytest.fixture()
def wire(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every request botocore sends and every address a socket resolves, in this process."""
    seen: list[tuple[str, str]] = []
    send = botocore.endpoint.Endpoint._send
    resolve = socket.getaddrinfo

    def record_send(self, request):  # noqa: ANN001, ANN202
        seen.append(("send", request.url))
        seen.append(("auth", request.headers.get("Authorization", b"").decode()))
        return send(self, request)

    def record_resolve(host, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        seen.append(("dns", str(host)))
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(botocore.endpoint.Endpoint, "_send", record_send)
    monkeypatch.setattr(socket, "getaddrinfo", record_resolve)
    return seen


def test_lab_target_only_talks_to_the_lab(moto_lab: StandInLab, hostile_env: None,
                                          wire: list[tuple[str, str]]) -> None:
    target = connect(lab=moto_lab)
    assert target.kind == "lab" and target.region == "us-east-1"
    assert target.registry == moto_lab.registry
    repo = target.create_repository("hello-app")
    target.create_repository("hello-app")
    assert [r.name for r in target.repositories()] == ["hello-app"]
    assert len(target.images("hello-app")) == 0
    assert target.cleanup() == ["hello-app"] and repo.created

    sends = [v for k, v in wire if k == "send"]
    assert len(sends) >= 6
    assert {urlsplit(u).netloc for u in sends} == {moto_lab.registry}
    assert {v for k, v in wire if k == "dns"} <= {"127.0.0.1"}
    auths = [v for k, v in wire if k == "auth"]
    assert all(f"Credential={config.LAB_ACCESS_KEY}/" in a and "/us-east-1/ecr/" in a
               for a in auths)
    assert not any("AKIAREAL" in a for a in auths)


def test_default_target_is_the_lab_not_aws(hostile_env: None, monkeypatch: pytest.MonkeyPatch,
                                           moto_lab: StandInLab) -> None:
    import labkit.lab

    monkeypatch.setattr(labkit.lab, "ensure", lambda: moto_lab, raising=False)
    target = connect()
    assert isinstance(target, Target) and target.kind == "lab"
    assert target.endpoint_url == moto_lab.endpoint_url
