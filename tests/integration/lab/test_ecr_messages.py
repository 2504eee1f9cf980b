"""ECR's words from a real lab: each test provokes one message with a real client (boto3, the AWS
CLI, the docker CLI, plain HTTP for /v2/ requests no CLI sends) and checks it against the fixture
of recorded or documented ECR answers (tests/fixtures/ecr_messages.json), never against the lab's
own constants.

Where the lab differs from ECR today the test is a strict xfail whose reason is the fixture's
`lab_gap`: it flips to a failure (XPASS) the day the lab says ECR's words, so the mark goes too.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from labkit import config
from tests.conftest import ShortTokens, docker_answers, lab_environ, registry_credentials, unique
from tests.fixtures.ecr_messages import assert_ecr_message, entry

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
TIMEOUT = 30


def ecr_gap(entry_id: str) -> pytest.MarkDecorator:
    """A strict xfail naming where the lab differs from ECR (the fixture's `lab_gap`)."""
    item = entry(entry_id)
    assert item.lab_gap, f"{entry_id} has no lab_gap in the fixture"
    return pytest.mark.xfail(strict=True, reason=f"lab differs from ECR ({entry_id}): {item.lab_gap}")


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ---- the ECR API: boto3 ---------------------------------------------------------------------
@dataclass(frozen=True)
class ApiError:
    code: str
    message: str
    status: int


def api_error(call: Any, **params: Any) -> ApiError:
    with pytest.raises(ClientError) as exc:
        call(**params)
    response = exc.value.response
    return ApiError(response["Error"]["Code"], response["Error"]["Message"],
                    response["ResponseMetadata"]["HTTPStatusCode"])


def check_api(entry_id: str, err: ApiError, **values: Any) -> None:
    item = entry(entry_id)
    assert err.code == item.code, (entry_id, err)
    if item.http_status is not None:
        assert err.status == item.http_status, (entry_id, err)
    assert_ecr_message(entry_id, err.message, **values)


@pytest.fixture()
def ecr_unchecked(lab: Any) -> Any:
    """boto3 with its client-side parameter validation off (a documented botocore option): the
    request reaches the lab as it reaches ECR from clients that do not validate."""
    return boto3.client("ecr", endpoint_url=lab.endpoint_url, region_name=lab.region,
                        aws_access_key_id=config.LAB_ACCESS_KEY,
                        aws_secret_access_key=config.LAB_SECRET_KEY,
                        config=Config(parameter_validation=False))


@pytest.fixture()
def repo(ecr_client: Any) -> str:
    name = unique("ecr-msg")
    ecr_client.create_repository(repositoryName=name)
    return name


def put_layer(ecr: Any, repository: str, data: bytes) -> str:
    """A blob through InitiateLayerUpload / UploadLayerPart / CompleteLayerUpload."""
    upload = ecr.initiate_layer_upload(repositoryName=repository)["uploadId"]
    ecr.upload_layer_part(repositoryName=repository, uploadId=upload, partFirstByte=0,
                          partLastByte=len(data) - 1, layerPartBlob=data)
    return ecr.complete_layer_upload(repositoryName=repository, uploadId=upload,
                                     layerDigests=[sha(data)])["layerDigest"]


def image_manifest(config_blob: bytes, layer: bytes) -> str:
    return json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha(config_blob), "size": len(config_blob)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": sha(layer), "size": len(layer)}]})


def upload_image(ecr: Any, repository: str, payload: bytes) -> str:
    """The blobs of a one-layer image (its config unique to `payload`), through the API; returns
    its manifest, not yet put."""
    config_blob = json.dumps({"architecture": "amd64", "os": "linux",
                              "rootfs": {"type": "layers", "diff_ids": [sha(payload)]}}).encode()
    put_layer(ecr, repository, config_blob)
    put_layer(ecr, repository, payload)
    return image_manifest(config_blob, payload)


def push_image(ecr: Any, repository: str, tag: str, payload: bytes) -> tuple[str, str]:
    """(manifest, digest) of an image pushed through the ECR API under `tag`."""
    manifest = upload_image(ecr, repository, payload)
    digest = ecr.put_image(repositoryName=repository, imageTag=tag,
                           imageManifest=manifest)["image"]["imageId"]["imageDigest"]
    return manifest, digest


# ---- ECR API: what the lab says as ECR does -------------------------------------------------
def test_repository_not_found(lab: Any, ecr_client: Any) -> None:
    name = unique("never-created")
    check_api("api.repository-not-found",
              api_error(ecr_client.describe_repositories, repositoryNames=[name]),
              repository=name, registry_id=lab.account_id)


def test_repository_already_exists(lab: Any, ecr_client: Any, repo: str) -> None:
    check_api("api.repository-already-exists",
              api_error(ecr_client.create_repository, repositoryName=repo),
              repository=repo, registry_id=lab.account_id)


def test_repository_not_empty(lab: Any, ecr_client: Any, repo: str) -> None:
    push_image(ecr_client, repo, "v1", b"not empty")
    check_api("api.repository-not-empty",
              api_error(ecr_client.delete_repository, repositoryName=repo),
              repository=repo, registry_id=lab.account_id)


def test_repository_policy_not_found(lab: Any, ecr_client: Any, repo: str) -> None:
    check_api("api.repository-policy-not-found",
              api_error(ecr_client.get_repository_policy, repositoryName=repo),
              repository=repo, registry_id=lab.account_id)


def test_lifecycle_policy_not_found(lab: Any, ecr_client: Any, repo: str) -> None:
    check_api("api.lifecycle-policy-not-found",
              api_error(ecr_client.get_lifecycle_policy, repositoryName=repo),
              repository=repo, registry_id=lab.account_id)


def test_image_not_found(lab: Any, ecr_client: Any, repo: str) -> None:
    check_api("api.image-not-found",
              api_error(ecr_client.describe_images, repositoryName=repo,
                        imageIds=[{"imageTag": "latest"}]),
              image_digest="null", image_tag="latest", repository=repo,
              registry_id=lab.account_id)


def test_image_already_exists(lab: Any, ecr_client: Any, repo: str) -> None:
    manifest, digest = push_image(ecr_client, repo, "canary", b"same image, same tag")
    check_api("api.image-already-exists",
              api_error(ecr_client.put_image, repositoryName=repo, imageTag="canary",
                        imageManifest=manifest),
              digest=digest, tag="canary", repository=repo, registry_id=lab.account_id)


def test_batch_delete_of_a_missing_image_is_a_failure_entry(ecr_client: Any, repo: str) -> None:
    item = entry("api.batch-delete-image-not-found")
    answer = ecr_client.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "latest"}])
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == item.http_status
    assert answer["imageIds"] == []
    (failure,) = answer["failures"]
    assert failure["imageId"] == {"imageTag": "latest"}
    assert failure["failureCode"] == item.code
    assert_ecr_message(item.id, failure["failureReason"])


def test_repository_name_too_short(ecr_unchecked: Any) -> None:
    check_api("api.invalid-parameter.repository-name-length",
              api_error(ecr_unchecked.create_repository, repositoryName="a"))


def test_repository_name_with_uppercase(ecr_client: Any) -> None:
    check_api("api.invalid-parameter.repository-name-pattern",
              api_error(ecr_client.create_repository, repositoryName=unique("Team/App")))


def test_more_than_100_image_ids(ecr_client: Any, repo: str) -> None:
    check_api("api.invalid-parameter.image-ids-max",
              api_error(ecr_client.batch_delete_image, repositoryName=repo,
                        imageIds=[{"imageTag": f"t{i}"} for i in range(101)]))


def test_no_image_ids(ecr_unchecked: Any, repo: str) -> None:
    check_api("api.invalid-parameter.image-ids-min",
              api_error(ecr_unchecked.batch_delete_image, repositoryName=repo, imageIds=[]))


def test_registry_id_of_11_digits(ecr_client: Any) -> None:
    check_api("api.invalid-parameter.registry-ids-pattern",
              api_error(ecr_client.get_authorization_token, registryIds=["12345678901"]))


def test_tag_given_as_image_digest(ecr_client: Any, repo: str) -> None:
    check_api("api.invalid-parameter.image-digest-pattern",
              api_error(ecr_client.describe_images, repositoryName=repo,
                        imageIds=[{"imageDigest": "latest"}]))


def test_repository_uri_given_as_resource_arn(lab: Any, ecr_client: Any, repo: str) -> None:
    check_api("api.invalid-parameter.resource-arn",
              api_error(ecr_client.list_tags_for_resource, resourceArn=f"{lab.registry}/{repo}"))


def test_put_image_with_malformed_manifest(ecr_client: Any, repo: str) -> None:
    check_api("api.invalid-parameter.image-manifest-json",
              api_error(ecr_client.put_image, repositoryName=repo, imageTag="v1",
                        imageManifest="{not json"))


def test_repository_policy_naming_a_resource(lab: Any, ecr_client: Any, repo: str) -> None:
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "pull", "Effect": "Allow", "Principal": "*", "Action": ["ecr:BatchGetImage"],
        "Resource": f"arn:aws:ecr:{lab.region}:{lab.account_id}:repository/{repo}"}]}
    check_api("api.invalid-parameter.repository-policy",
              api_error(ecr_client.set_repository_policy, repositoryName=repo,
                        policyText=json.dumps(policy)))


def test_lifecycle_action_with_null_storage_class(ecr_client: Any, repo: str) -> None:
    """cloudposse/terraform-aws-ecr#158's policy: `"targetStorageClass": null` in the action."""
    policy = {"rules": [{"rulePriority": 1, "description": "Max Retention on Latest Tag",
                         "selection": {"tagStatus": "tagged", "tagPatternList": ["latest"],
                                       "countType": "imageCountMoreThan", "countNumber": 10},
                         "action": {"type": "expire", "targetStorageClass": None}}]}
    check_api("api.invalid-parameter.lifecycle-one-of",
              api_error(ecr_client.put_lifecycle_policy, repositoryName=repo,
                        lifecyclePolicyText=json.dumps(policy)),
              alternatives=2)


def test_download_url_of_a_missing_layer(lab: Any, ecr_client: Any, repo: str) -> None:
    digest = sha(b"never pushed")
    check_api("api.layers-not-found.download-url",
              api_error(ecr_client.get_download_url_for_layer, repositoryName=repo,
                        layerDigest=digest),
              digest=digest, repository=repo, registry_id=lab.account_id)


def test_layer_parts_under_5_mib(ecr_client: Any, repo: str) -> None:
    """Two 1-byte parts: ECR refuses at the second part or at completion (CloudTrail does not say
    which), so either call may raise."""
    upload = ecr_client.initiate_layer_upload(repositoryName=repo)["uploadId"]

    def push_in_small_parts() -> None:
        for first, byte in enumerate((b"a", b"b")):
            ecr_client.upload_layer_part(repositoryName=repo, uploadId=upload, partFirstByte=first,
                                         partLastByte=first, layerPartBlob=byte)
        ecr_client.complete_layer_upload(repositoryName=repo, uploadId=upload,
                                         layerDigests=[sha(b"ab")])

    check_api("api.layer-part-too-small", api_error(push_in_small_parts))


# ---- the AWS CLI --------------------------------------------------------------------------------
def aws(lab: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["aws", "ecr", *args], env=lab_environ(lab), capture_output=True,
                          text=True, timeout=120)


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def test_cli_put_image_already_there(lab: Any, ecr_client: Any, repo: str, tmp_path: Path,
                                     require_aws_cli: None) -> None:
    manifest, digest = push_image(ecr_client, repo, "canary", b"cli: same image, same tag")
    (tmp_path / "manifest.json").write_text(manifest)
    r = aws(lab, "put-image", "--repository-name", repo, "--image-tag", "canary",
            "--image-manifest", f"file://{tmp_path / 'manifest.json'}")
    assert r.returncode != 0, r.stdout
    assert_ecr_message("cli.image-already-exists", last_line(r.stderr), digest=digest,
                       tag="canary", repository=repo, registry_id=lab.account_id)


def test_cli_put_image_malformed_manifest(lab: Any, repo: str, require_aws_cli: None) -> None:
    r = aws(lab, "put-image", "--repository-name", repo, "--image-tag", "v1",
            "--image-manifest", "{not json")
    assert r.returncode != 0, r.stdout
    assert_ecr_message("cli.put-image-invalid-json", last_line(r.stderr))


# ---- the docker CLI -----------------------------------------------------------------------------
def docker(env: dict[str, str], *args: str, stdin: str | None = None
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], env=env, input=stdin, capture_output=True, text=True,
                          timeout=300)


def docker_login(lab: Any, ecr: Any, env: dict[str, str]) -> None:
    """`aws ecr get-login-password | docker login --username AWS --password-stdin <registry>`,
    with the password GetAuthorizationToken gives."""
    _, password = registry_credentials(ecr)
    r = docker(env, "login", "--username", "AWS", "--password-stdin", lab.registry, stdin=password)
    assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def images(lab: Any, tmp_path_factory: pytest.TempPathFactory, require_docker: None
           ) -> Iterator[tuple[str, str]]:
    """Two small local images (FROM scratch, contents unique to this run), built once."""
    run = uuid.uuid4().hex[:8]
    env = lab_environ(lab)
    env["DOCKER_BUILDKIT"] = "0"
    refs, ids = [], []
    for n in (1, 2):
        ctx = tmp_path_factory.mktemp(f"ecr-msg-image{n}")
        (ctx / "msg.txt").write_text(f"ecr messages {run} image {n}\n")
        (ctx / "Dockerfile").write_text("FROM scratch\nCOPY msg.txt /msg.txt\n")
        ref = f"labkit-ecr-msg-{run}:{n}"
        r = docker(env, "build", "-q", "-t", ref, str(ctx))
        assert r.returncode == 0, r.stderr
        refs.append(ref)
        ids.append(last_line(r.stdout))
    yield refs[0], refs[1]
    docker(env, "rmi", "-f", *ids)  # by id: also the repository digests pushes left behind


@pytest.fixture()
def docker_env(lab: Any, ecr_client: Any, tmp_path: Path, require_docker: None) -> dict[str, str]:
    """The lab's exports and a private DOCKER_CONFIG, logged in to the lab."""
    env = lab_environ(lab, tmp_path / "docker-config")
    docker_login(lab, ecr_client, env)
    return env


def tagged(env: dict[str, str], local: str, ref: str) -> str:
    r = docker(env, "tag", local, ref)
    assert r.returncode == 0, r.stderr
    return ref


@pytest.mark.docker
def test_docker_push_to_a_missing_repository(lab: Any, images: tuple[str, str],
                                             docker_env: dict[str, str]) -> None:
    name = unique("never-created")
    ref = tagged(docker_env, images[0], f"{lab.registry}/{name}:1")
    try:
        r = docker(docker_env, "push", ref)
        assert r.returncode != 0, r.stdout
        assert_ecr_message("docker.name-unknown-push", last_line(r.stderr), repository=name,
                           registry_id=lab.account_id)
    finally:
        docker(docker_env, "rmi", ref)


@pytest.mark.docker
def test_docker_pull_of_a_missing_tag(lab: Any, repo: str, docker_env: dict[str, str]) -> None:
    r = docker(docker_env, "pull", f"{lab.registry}/{repo}:nope")
    assert r.returncode != 0, r.stdout
    assert_ecr_message("docker.manifest-unknown-pull", last_line(r.stderr),
                       image=f"{lab.registry}/{repo}", tag="nope")


@pytest.mark.docker
def test_docker_push_over_an_immutable_tag(lab: Any, ecr_client: Any, images: tuple[str, str],
                                           docker_env: dict[str, str]) -> None:
    name = unique("ecr-msg-frozen")
    ecr_client.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")
    ref = f"{lab.registry}/{name}:1.0"
    try:
        tagged(docker_env, images[0], ref)
        first = docker(docker_env, "push", ref)
        assert first.returncode == 0, first.stderr
        tagged(docker_env, images[1], ref)
        r = docker(docker_env, "push", ref)
        assert r.returncode != 0, r.stdout
        assert_ecr_message("docker.tag-invalid-immutable", last_line(r.stderr), tag="1.0",
                           repository=name)
    finally:
        docker(docker_env, "rmi", ref)


@pytest.mark.docker
def test_docker_push_without_login(lab: Any, repo: str, images: tuple[str, str],
                                   tmp_path: Path) -> None:
    env = lab_environ(lab, tmp_path / "empty-docker-config")  # no login happened here
    ref = tagged(env, images[0], f"{lab.registry}/{repo}:1")
    try:
        r = docker(env, "push", ref)
        assert r.returncode != 0, r.stdout
        assert_ecr_message("docker.no-basic-auth-credentials", last_line(r.stderr))
    finally:
        docker(env, "rmi", ref)


@dataclass(frozen=True)
class ExpiredLogin:
    docker_env: dict[str, str] | None
    credentials: tuple[str, str]


@pytest.fixture(scope="module")
def expired_login(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExpiredLogin]:
    """A docker login (when docker answers) and registry credentials whose token has expired:
    issued short-lived by the lab, then expired by its token clock for the whole module."""
    ecr = boto3.client("ecr", endpoint_url=lab.endpoint_url, region_name=lab.region,
                       aws_access_key_id=config.LAB_ACCESS_KEY,
                       aws_secret_access_key=config.LAB_SECRET_KEY)
    env = None
    with ShortTokens(lab) as tokens:
        credentials = registry_credentials(ecr)
        if docker_answers():
            env = lab_environ(lab, tmp_path_factory.mktemp("expired-docker-config"))
            docker_login(lab, ecr, env)
        tokens.expire()
        yield ExpiredLogin(env, credentials)


@pytest.mark.docker
def test_docker_push_with_an_expired_login(lab: Any, repo: str, images: tuple[str, str],
                                           expired_login: ExpiredLogin) -> None:
    env = expired_login.docker_env
    assert env is not None, "docker answered for `images` but not for the expired login"
    ref = tagged(env, images[0], f"{lab.registry}/{repo}:1")
    try:
        r = docker(env, "push", ref)
        assert r.returncode != 0, r.stdout
        assert_ecr_message("docker.expired-token-push", last_line(r.stderr))
    finally:
        docker(env, "rmi", ref)


@pytest.mark.docker
def test_docker_pull_with_an_expired_login(lab: Any, repo: str, require_docker: None,
                                           expired_login: ExpiredLogin) -> None:
    env = expired_login.docker_env
    assert env is not None, "docker answered for require_docker but not for the expired login"
    r = docker(env, "pull", f"{lab.registry}/{repo}:1")
    assert r.returncode != 0, r.stdout
    assert_ecr_message("docker.expired-token-pull", last_line(r.stderr),
                       image=f"{lab.registry}/{repo}")


# ---- /v2/ over HTTP: requests no CLI sends on purpose -------------------------------------------
@pytest.fixture()
def v2(lab: Any, ecr_client: Any) -> requests.Session:
    session = requests.Session()
    session.auth = registry_credentials(ecr_client)
    return session


def registry_error(r: requests.Response) -> tuple[str, str]:
    """(code, message) of the spec's JSON error body."""
    errors = r.json()["errors"]
    assert len(errors) == 1, errors
    return errors[0]["code"], errors[0]["message"]


def check_registry(entry_id: str, r: requests.Response, **values: Any) -> None:
    item = entry(entry_id)
    if item.http_status is not None:
        assert r.status_code == item.http_status, (entry_id, r.status_code, r.text)
    code, message = registry_error(r)
    assert code == item.code, (entry_id, r.text)
    assert_ecr_message(entry_id, message, **values)


def test_registry_missing_repository(lab: Any, v2: requests.Session) -> None:
    name = unique("never-created")
    check_registry("registry.name-unknown",
                   v2.get(f"{lab.endpoint_url}/v2/{name}/manifests/latest", timeout=TIMEOUT),
                   repository=name, registry_id=lab.account_id)


def test_registry_missing_tag(lab: Any, repo: str, v2: requests.Session) -> None:
    check_registry("registry.manifest-unknown",
                   v2.get(f"{lab.endpoint_url}/v2/{repo}/manifests/nope", timeout=TIMEOUT))


def test_registry_put_over_an_immutable_tag(lab: Any, ecr_client: Any, v2: requests.Session) -> None:
    name = unique("ecr-msg-frozen")
    ecr_client.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")
    push_image(ecr_client, name, "t", b"first")
    second = upload_image(ecr_client, name, b"second")
    check_registry("registry.tag-invalid-immutable",
                   v2.put(f"{lab.endpoint_url}/v2/{name}/manifests/t", data=second,
                          headers={"Content-Type": OCI_MANIFEST}, timeout=TIMEOUT),
                   tag="t", repository=name)


def test_registry_with_an_expired_token(lab: Any, repo: str, expired_login: ExpiredLogin) -> None:
    check_registry("registry.denied-expired-token",
                   requests.get(f"{lab.endpoint_url}/v2/{repo}/tags/list",
                                auth=expired_login.credentials, timeout=TIMEOUT))


def test_registry_challenge_without_credentials(lab: Any) -> None:
    item = entry("registry.unauthorized-challenge")
    r = requests.get(f"{lab.endpoint_url}/v2/", timeout=TIMEOUT)
    assert r.status_code == item.http_status
    assert_ecr_message(item.id, r.headers.get("WWW-Authenticate"),
                       registry_url=f"http://{lab.registry}")


def test_registry_401_body(lab: Any) -> None:
    r = requests.get(f"{lab.endpoint_url}/v2/", timeout=TIMEOUT)
    assert r.status_code == 401
    assert_ecr_message("registry.unauthorized-body", r.text)


def manifest_missing_its_layer(ecr: Any, repository: str) -> tuple[str, str]:
    """(manifest, the one missing digest): the config is pushed, the layer is not."""
    config_blob = json.dumps({"architecture": "amd64", "os": "linux",
                              "rootfs": {"type": "layers", "diff_ids": []}, "note": repository})
    put_layer(ecr, repository, config_blob.encode())
    layer = f"layer never pushed to {repository}".encode()
    return image_manifest(config_blob.encode(), layer), sha(layer)


def test_registry_manifest_whose_layer_is_missing_message(lab: Any, ecr_client: Any, repo: str,
                                                          v2: requests.Session) -> None:
    manifest, missing = manifest_missing_its_layer(ecr_client, repo)
    r = v2.put(f"{lab.endpoint_url}/v2/{repo}/manifests/v1", data=manifest,
               headers={"Content-Type": OCI_MANIFEST}, timeout=TIMEOUT)
    assert r.status_code == 400, r.text
    assert_ecr_message("registry.missing-layers", registry_error(r)[1], digests=missing,
                       repository=repo, registry_id=lab.account_id)


def test_registry_manifest_whose_layer_is_missing_code(lab: Any, ecr_client: Any, repo: str,
                                                       v2: requests.Session) -> None:
    manifest, missing = manifest_missing_its_layer(ecr_client, repo)
    check_registry("registry.missing-layers",
                   v2.put(f"{lab.endpoint_url}/v2/{repo}/manifests/v1", data=manifest,
                          headers={"Content-Type": OCI_MANIFEST}, timeout=TIMEOUT),
                   digests=missing, repository=repo, registry_id=lab.account_id)


def test_registry_index_whose_image_is_missing(lab: Any, repo: str, v2: requests.Session) -> None:
    missing = sha(b"an image never pushed")
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": missing, "size": 100,
         "platform": {"architecture": "amd64", "os": "linux"}}]})
    check_registry("registry.index-missing-images",
                   v2.put(f"{lab.endpoint_url}/v2/{repo}/manifests/multi", data=index,
                          headers={"Content-Type": OCI_INDEX}, timeout=TIMEOUT),
                   digests=missing, repository=repo, registry_id=lab.account_id)


def test_registry_manifest_put_under_another_digest(lab: Any, ecr_client: Any, repo: str,
                                                    v2: requests.Session) -> None:
    manifest = upload_image(ecr_client, repo, b"digest mismatch")
    wrong = sha(b"not this manifest")
    check_registry("registry.manifest-digest-mismatch",
                   v2.put(f"{lab.endpoint_url}/v2/{repo}/manifests/{wrong}", data=manifest,
                          headers={"Content-Type": OCI_MANIFEST}, timeout=TIMEOUT),
                   digest=wrong, repository=repo, registry_id=lab.account_id)


def test_registry_malformed_manifest(lab: Any, repo: str, v2: requests.Session) -> None:
    check_registry("registry.manifest-invalid-json",
                   v2.put(f"{lab.endpoint_url}/v2/{repo}/manifests/v1", data=b"{not json",
                          headers={"Content-Type": OCI_MANIFEST}, timeout=TIMEOUT))


def start_upload(lab: Any, repo: str, v2: requests.Session) -> str:
    r = v2.post(f"{lab.endpoint_url}/v2/{repo}/blobs/uploads/", timeout=TIMEOUT)
    assert r.status_code == 202, r.text
    return r.headers["Location"]


def test_registry_upload_finished_under_another_digest(lab: Any, repo: str,
                                                       v2: requests.Session) -> None:
    location = start_upload(lab, repo, v2)
    check_registry("registry.blob-upload-digest-mismatch",
                   v2.put(location, params={"digest": sha(b"other bytes")}, data=b"these bytes",
                          headers={"Content-Type": "application/octet-stream"}, timeout=TIMEOUT))


def test_registry_chunk_out_of_order(lab: Any, repo: str, v2: requests.Session) -> None:
    location = start_upload(lab, repo, v2)
    chunk = {"Content-Type": "application/octet-stream"}
    first = v2.patch(location, data=b"12345", headers={**chunk, "Content-Range": "0-4"},
                     timeout=TIMEOUT)
    assert first.status_code in (201, 202), first.text  # ECR answers 201 (regclient#81)
    location = first.headers.get("Location", location)
    check_registry("registry.blob-upload-out-of-order",
                   v2.patch(location, data=b"67890", headers={**chunk, "Content-Range": "10-14"},
                            timeout=TIMEOUT),
                   first_byte=10, expected_byte=5)


def test_registry_missing_blob(lab: Any, repo: str, v2: requests.Session) -> None:
    check_registry("registry.blob-unknown",
                   v2.get(f"{lab.endpoint_url}/v2/{repo}/blobs/{sha(b'no such blob')}",
                          timeout=TIMEOUT))


def test_registry_unknown_upload(lab: Any, repo: str, v2: requests.Session) -> None:
    check_registry("registry.blob-upload-unknown",
                   v2.patch(f"{lab.endpoint_url}/v2/{repo}/blobs/uploads/{uuid.uuid4()}",
                            data=b"x", headers={"Content-Type": "application/octet-stream"},
                            timeout=TIMEOUT))


def test_registry_invalid_repository_name(lab: Any, v2: requests.Session) -> None:
    check_registry("registry.name-invalid",
                   v2.get(f"{lab.endpoint_url}/v2/Not_Lower/tags/list", timeout=TIMEOUT))
