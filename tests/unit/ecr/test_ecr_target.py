"""The ECR target on the real-AWS code path, against moto in-process (mock_aws)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from labkit.ecr.models import ImageRow, ImageTable
from labkit.ecr.target import Target, TargetError, connect
from labkit.oci import digest as dg
from labkit.oci import mediatypes as mt

REGION = "us-east-1"


class RecordingEngine:
    """Stands in for an engine's login (our own interface, not a protocol client)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def login(self, registry: str, username: str, password: str) -> str:
        self.calls.append((registry, username, password))
        return "Login Succeeded"


@pytest.fixture()
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Target]:
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "LABKIT_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("LABKIT_TARGET", "aws")
    # A fresh ECR for each test, and nothing else reset: moto's full reset re-creates every
    # backend of every account that other tests in this process made (the access tests' IAM
    # accounts: minutes, each loading IAM's managed policies) only to drop them.
    from moto.ecr.models import ecr_backends

    def fresh_ecr() -> None:  # (BackendDict.reset is the class-wide full reset)
        for account in ecr_backends.values():
            account.reset()

    mock = mock_aws()
    mock.start(reset=False)
    fresh_ecr()
    try:
        yield connect()
    finally:
        mock.stop(remove_data=False)
        fresh_ecr()


def put_image(name: str, tag: str, layer_sizes: list[int]) -> str:
    """PutImage a schema-2 manifest (what a push leaves behind); returns its digest."""
    layers = [{"mediaType": mt.DOCKER_LAYER, "size": n, "digest": dg.of_bytes(f"{tag}{i}".encode())}
              for i, n in enumerate(layer_sizes)]
    raw = json.dumps({"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST,
                      "config": {"mediaType": mt.DOCKER_CONFIG, "size": 7,
                                 "digest": dg.of_bytes(tag.encode())},
                      "layers": layers})
    boto3.client("ecr", region_name=REGION).put_image(repositoryName=name, imageManifest=raw,
                                                      imageTag=tag)
    return dg.of_bytes(raw.encode())


def test_connect_aws_uses_the_aws_registry(aws: Target) -> None:
    assert aws.kind == "aws"
    assert aws.registry == "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    assert aws.uri("hello-app", "v1") == f"{aws.registry}/hello-app:v1"
    assert aws.uri("hello-app", "sha256:" + "a" * 64).endswith("/hello-app@sha256:" + "a" * 64)


def test_create_is_idempotent_and_reconciles(aws: Target) -> None:
    first = aws.create_repository("hello-app")
    assert first.created and not first.immutable
    assert first.uri == f"{aws.registry}/hello-app"
    again = aws.create_repository("hello-app")
    assert not again.created and again.arn == first.arn and again.note == ""
    changed = aws.create_repository("hello-app", immutable=True, scan_on_push=True)
    assert changed.immutable and changed.scan_on_push
    assert "IMMUTABLE" in changed.note and "scan on push" in changed.note
    assert aws.repository("hello-app").immutable
    assert [r.name for r in aws.repositories()] == ["hello-app"]


def test_existing_foreign_repository_is_noted_and_survives_cleanup(aws: Target) -> None:
    boto3.client("ecr", region_name=REGION).create_repository(repositoryName="team/prod")
    got = aws.create_repository("team/prod")
    assert not got.created and "cleanup() will leave it" in got.note
    aws.create_repository("hello-app")
    aws.create_repository("course/other", immutable=True)
    put_image("hello-app", "v1", [10, 20])
    assert sorted(aws.cleanup()) == ["course/other", "hello-app"]
    assert [r.name for r in aws.repositories()] == ["team/prod"]
    assert aws.cleanup() == []


def test_images_table_matches_describe_images(aws: Target) -> None:
    aws.create_repository("hello-app")
    put_image("hello-app", "v1", [1000, 2500])
    put_image("hello-app", "v2", [1000, 4000])
    table = aws.images("hello-app")
    api = boto3.client("ecr", region_name=REGION).describe_images(repositoryName="hello-app")
    want = {d["imageTags"][0]: (d["imageDigest"], d["imageSizeInBytes"])
            for d in api["imageDetails"]}
    assert sorted(r.tags for r in table) == [("v1",), ("v2",)]
    for tag, (digest, size) in want.items():
        row = table.tagged(tag)
        assert row is not None and (row.digest, row.size) == (digest, size)
        assert dg.short(digest) in str(table)


def test_images_table_sorts_by_push_time_and_renders() -> None:
    t0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    rows = [ImageRow(("v2", "latest"), "sha256:" + "b" * 64, 3_500, t0 + timedelta(minutes=5)),
            ImageRow((), "sha256:" + "c" * 64, 12, None),
            ImageRow(("v1",), "sha256:" + "a" * 64, 1_234_567, t0)]
    table = ImageTable("hello-app", rows)
    assert [r.digest[7] for r in table] == ["c", "a", "b"]
    lines = str(table).splitlines()
    assert lines[0].split() == ["tags", "digest", "size", "pushed", "at"]
    assert lines[1].startswith("<untagged>")
    assert "v1" in lines[2] and "1.2 MB" in lines[2] and "2024-05-01 12:00:00" in lines[2]
    assert "v2, latest" in lines[3] and "3.5 kB" in lines[3] and "bbbbbbbbbbbb" in lines[3]
    html = table._repr_html_()
    assert html.count("<tr>") == 4 and "&lt;untagged&gt;" in html


def test_images_of_empty_repository(aws: Target) -> None:
    aws.create_repository("empty-one")
    table = aws.images("empty-one")
    assert len(table) == 0 and "no images in empty-one" in str(table)


def test_login_hides_password(aws: Target) -> None:
    engine = RecordingEngine()
    login = aws.login(engine)
    token = boto3.client("ecr", region_name=REGION).get_authorization_token()
    user, password = base64.b64decode(
        token["authorizationData"][0]["authorizationToken"]).decode().split(":", 1)
    assert engine.calls == [(aws.registry, "AWS", password)]
    assert login.username == user == "AWS" and login.password == password
    assert login.registry == aws.registry and login.message == "Login Succeeded"
    for shown in (repr(login), str(login), login._repr_html_()):
        assert password not in shown and "***" in shown


def test_errors_are_guidance(aws: Target) -> None:
    with pytest.raises(TargetError) as err:
        aws.images("nope-missing")
    assert err.value.code == "RepositoryNotFoundException"
    assert "create it first (notebook 01-create-repository)" in str(err.value)
    assert "aws ecr create-repository --repository-name nope-missing" in str(err.value)
    with pytest.raises(TargetError, match="create it first"):
        aws.delete_repository("nope-missing")
    assert aws.delete_repository("nope-missing", missing_ok=True) is False
    aws.create_repository("full-one")
    put_image("full-one", "v1", [5])
    with pytest.raises(TargetError, match="force=True"):
        aws.delete_repository("full-one", force=False)
    assert aws.delete_repository("full-one") is True


def test_login_command_strings(aws: Target) -> None:
    cmd = aws.login_command()
    assert cmd.shell == ("aws ecr get-login-password --region us-east-1 | docker login "
                         f"--username AWS --password-stdin {aws.registry}")
    assert cmd.powershell.startswith("(Get-ECRLoginCommand -Region us-east-1).Password | ")
    assert cmd.powershell.endswith(f"--password-stdin {aws.registry}")
    assert "eu-west-1" in aws.login_command("eu-west-1").shell


def test_set_immutable_round_trip(aws: Target) -> None:
    aws.create_repository("flip")
    assert aws.set_immutable("flip").immutable
    assert not aws.set_immutable("flip", False).immutable


def test_unknown_target_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABKIT_TARGET", "prod")
    with pytest.raises(ValueError, match="'lab' or 'aws'"):
        connect()
