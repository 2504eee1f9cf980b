"""What an audit against ECR's documentation found (issue 19, items 2 to 9), checked with real
clients against a running lab: the AWS CLI, boto3, the docker CLI and, for `/v2/` requests no
CLI sends, plain HTTP.  ECR's words come from tests/fixtures/ecr_messages.json."""

from __future__ import annotations

import hashlib
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
import requests

from labkit import config
from labkit.course import sample
from labkit.engines.builtin import BuiltinEngine
from labkit.lab import process
from labkit.lab.process import free_port
from labkit.oci import mediatypes as mt
from tests.conftest import lab_environ, registry_credentials, unique
from tests.fixtures.ecr_messages import assert_ecr_message, entry

TIMEOUT = 30
CONFIG = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def refusal(call: Any, **params: Any) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        call(**params)
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


def upload(ecr: Any, repository: str, data: bytes) -> str:
    up = ecr.initiate_layer_upload(repositoryName=repository)["uploadId"]
    ecr.upload_layer_part(repositoryName=repository, uploadId=up, partFirstByte=0,
                          partLastByte=len(data) - 1, layerPartBlob=data)
    return ecr.complete_layer_upload(repositoryName=repository, uploadId=up,
                                     layerDigests=[sha(data)])["layerDigest"]


def image_manifest(layer: bytes, media_type: str | None = mt.OCI_MANIFEST) -> str:
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "config": {"mediaType": mt.OCI_CONFIG, "digest": sha(CONFIG), "size": len(CONFIG)},
        "layers": [{"mediaType": mt.OCI_LAYER_TAR, "digest": sha(layer), "size": len(layer)}]}
    if media_type:
        doc["mediaType"] = media_type
    return json.dumps(doc)


def aws(lab: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["aws", "ecr", *args], env=lab_environ(lab), capture_output=True,
                          text=True, timeout=120)


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


@pytest.fixture()
def repo(ecr_client: Any) -> str:
    name = unique("audit")
    ecr_client.create_repository(repositoryName=name)
    upload(ecr_client, name, CONFIG)
    return name


# ---- 1. repository and registry policies are validated (by the access engine) ----------------
ACCESS = json.loads((Path(__file__).parents[2] / "fixtures" / "ecr_messages_access.json")
                    .read_text())
ACCESS_WORDS = {e["key"]: e["message"] for e in ACCESS}
PULL = {"Sid": "pull", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{config.LAB_ACCOUNT_ID}:root"},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}


@pytest.mark.parametrize(("statements", "words"), [
    ("[]", "repository_policy_invalid"),
    ([{**PULL, "Effect": "Maybe"}], "repository_policy_invalid"),
    ([{k: v for k, v in PULL.items() if k != "Principal"}], "repository_policy_invalid"),
    ([{**PULL, "Principal": {"AWS": "arn:aws:iam::123456789012:user/nobody-here"}}],
     "principal_not_found"),
])
def test_repository_policies_are_validated(lab: Any, ecr_client: Any, repo: str, tmp_path: Path,
                                           statements: Any, words: str,
                                           require_aws_cli: None) -> None:
    text = statements if isinstance(statements, str) else json.dumps(
        {"Version": "2012-10-17", "Statement": statements})
    (tmp_path / "policy.json").write_text(text)
    r = aws(lab, "set-repository-policy", "--repository-name", repo, "--policy-text",
            f"file://{tmp_path / 'policy.json'}")
    assert r.returncode != 0, r.stdout
    assert last_line(r.stderr) == ("An error occurred (InvalidParameterException) when calling "
                                   f"the SetRepositoryPolicy operation: {ACCESS_WORDS[words]}")
    code, _ = refusal(ecr_client.get_repository_policy, repositoryName=repo)
    assert code == "RepositoryPolicyNotFoundException"  # nothing stored
    ok = json.dumps({"Version": "2012-10-17", "Statement": [PULL]})
    assert ecr_client.set_repository_policy(repositoryName=repo, policyText=ok)["policyText"] == ok


def test_registry_policies_are_validated(ecr_client: Any) -> None:
    code, message = refusal(ecr_client.put_registry_policy, policyText="{}")
    assert code == "InvalidParameterException"
    assert message == ACCESS_WORDS["registry_policy_invalid"]
    code, _ = refusal(ecr_client.get_registry_policy)
    assert code == "RegistryPolicyNotFoundException"


# ---- 2. PutImage needs the manifest's mediaType ----------------------------------------------
def test_put_image_without_a_media_type(lab: Any, ecr_client: Any, repo: str, tmp_path: Path,
                                        require_aws_cli: None) -> None:
    """aws/aws-cli#8620: a manifest without a top-level mediaType is 'Invalid JSON syntax'
    unless --image-manifest-media-type names it."""
    upload(ecr_client, repo, b"helm chart")
    bare = tmp_path / "bare.json"
    bare.write_text(image_manifest(b"helm chart", media_type=None))
    r = aws(lab, "put-image", "--repository-name", repo, "--image-tag", "1",
            "--image-manifest", f"file://{bare}")
    assert r.returncode != 0, r.stdout
    assert_ecr_message("cli.put-image-invalid-json", last_line(r.stderr))
    assert ecr_client.list_images(repositoryName=repo)["imageIds"] == []  # nothing stored
    r = aws(lab, "put-image", "--repository-name", repo, "--image-tag", "1",
            "--image-manifest", f"file://{bare}", "--image-manifest-media-type", mt.OCI_MANIFEST)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["image"]["imageManifestMediaType"] == mt.OCI_MANIFEST


# ---- 3. an image an index lists is deleted after the index, and the index's size ------------
def test_batch_delete_refuses_a_child_of_an_index(ecr_client: Any, repo: str) -> None:
    children = []
    for payload in (b"amd64 layer", b"arm64 layer"):
        upload(ecr_client, repo, payload)
        raw = image_manifest(payload)
        digest = ecr_client.put_image(repositoryName=repo, imageManifest=raw)[
            "image"]["imageId"]["imageDigest"]
        children.append((digest, len(payload), len(raw)))
    index = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [
        {"mediaType": mt.OCI_MANIFEST, "digest": d, "size": size,
         "platform": {"os": "linux", "architecture": arch}}
        for (d, _, size), arch in zip(children, ("amd64", "arm64"), strict=True)]})
    index_digest = ecr_client.put_image(repositoryName=repo, imageManifest=index,
                                        imageTag="multi")["image"]["imageId"]["imageDigest"]

    details = {d["imageDigest"]: d for d in
               ecr_client.describe_images(repositoryName=repo)["imageDetails"]}
    assert details[index_digest]["imageSizeInBytes"] == sum(
        details[d]["imageSizeInBytes"] for d, _, _ in children) == sum(n for _, n, _ in children)

    child = children[0][0]
    out = ecr_client.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": child}])
    assert out["imageIds"] == []
    [failure] = out["failures"]
    assert failure["imageId"] == {"imageDigest": child}
    assert failure["failureCode"] == "ImageReferencedByManifestList"
    assert ecr_client.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "multi"}])[
        "images"], "the index still has its image"

    # the index and its images in one request: the index goes first, then its images
    out = ecr_client.batch_delete_image(repositoryName=repo, imageIds=[
        {"imageDigest": d} for d, _, _ in children] + [{"imageTag": "multi"}])
    assert out["failures"] == []
    assert {i["imageDigest"] for i in out["imageIds"]} == {index_digest, *(d for d, _, _ in
                                                                           children)}


# ---- 4. lifecycle policies with JSON nulls get ECR's schema messages --------------------------
LIFECYCLE_PREFIX = ("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
                    "'Lifecycle policy validation failure: ")


def lifecycle(selection: dict[str, Any], action: dict[str, Any] | None = None) -> str:
    return json.dumps({"rules": [{"rulePriority": 1, "description": "keep the newest ten",
                                  "selection": selection,
                                  "action": action or {"type": "expire"}}]})


def test_lifecycle_null_count_unit_fails_the_one_of(lab: Any, repo: str, tmp_path: Path,
                                                    require_aws_cli: None) -> None:
    """cloudposse/terraform-aws-ecr#132 (countUnit null); a selection has four alternatives
    today (hashicorp/terraform-provider-aws#45909)."""
    policy = tmp_path / "policy.json"
    policy.write_text(lifecycle({"tagStatus": "any", "countType": "imageCountMoreThan",
                                 "countNumber": 10, "countUnit": None}))
    r = aws(lab, "put-lifecycle-policy", "--repository-name", repo,
            "--lifecycle-policy-text", f"file://{policy}")
    assert r.returncode != 0, r.stdout
    assert "(InvalidParameterException) when calling the PutLifecyclePolicy operation: " \
        + LIFECYCLE_PREFIX + "instance failed to match exactly one schema (matched 0 out of 4)" \
        in r.stderr


def test_lifecycle_null_tag_list_is_a_type_error(ecr_client: Any, repo: str) -> None:
    code, message = refusal(ecr_client.put_lifecycle_policy, repositoryName=repo,
                            lifecyclePolicyText=lifecycle({
                                "tagStatus": "tagged", "tagPatternList": None,
                                "tagPrefixList": ["v"], "countType": "imageCountMoreThan",
                                "countNumber": 10}))
    assert code == "InvalidParameterException"
    item = entry("api.invalid-parameter.lifecycle-null-array")  # its end is not on record
    assert message.startswith(item.message), message


def test_lifecycle_with_no_rules_says_the_array_is_too_short(ecr_client: Any, repo: str) -> None:
    text = json.dumps({"rules": []}) + " " * 100  # the model wants 100 characters at least
    code, message = refusal(ecr_client.put_lifecycle_policy, repositoryName=repo,
                            lifecyclePolicyText=text)
    assert code == "InvalidParameterException"
    assert message == LIFECYCLE_PREFIX + ("array is too short: must have at least 1 elements but "
                                          "instance has 0 elements\n'")


# ---- 5. a Docker schema 2 image asked for as OCI is translated (by tag) ------------------------
@pytest.fixture(scope="module")
def schema2_image(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(repository, manifest digest) of the kit's sample pushed by the built-in engine, which
    pushes Docker schema 2 manifests as docker does."""
    ecr = boto3.client("ecr", endpoint_url=lab.endpoint_url, region_name=lab.region,
                       aws_access_key_id=config.LAB_ACCESS_KEY,
                       aws_secret_access_key=config.LAB_SECRET_KEY)
    name = unique("audit/schema2")
    ecr.create_repository(repositoryName=name)
    engine = BuiltinEngine(home=tmp_path_factory.mktemp("engine"))
    sample.ensure_base(engine)
    engine.build(sample.context(1), f"{lab.registry}/{name}:v1")
    engine.login(lab.registry, *registry_credentials(ecr))
    pushed = engine.push(f"{lab.registry}/{name}:v1", progress=False)
    return name, pushed.digest


def test_pull_by_tag_asking_for_oci_gets_a_translation(lab: Any, ecr_client: Any,
                                                       schema2_image: tuple[str, str]) -> None:
    name, digest = schema2_image
    auth = registry_credentials(ecr_client)
    stored = requests.get(f"{lab.endpoint_url}/v2/{name}/manifests/v1", auth=auth,
                          headers={"Accept": mt.DOCKER_MANIFEST}, timeout=TIMEOUT)
    assert stored.headers["Content-Type"] == mt.DOCKER_MANIFEST
    r = requests.get(f"{lab.endpoint_url}/v2/{name}/manifests/v1", auth=auth,
                     headers={"Accept": mt.OCI_MANIFEST}, timeout=TIMEOUT)
    assert r.status_code == 200 and r.headers["Content-Type"] == mt.OCI_MANIFEST
    oci, docker = r.json(), stored.json()
    assert r.headers["Docker-Content-Digest"] == sha(r.content) != digest
    assert oci["mediaType"] == mt.OCI_MANIFEST and oci["config"]["mediaType"] == mt.OCI_CONFIG
    assert [x["digest"] for x in oci["layers"]] == [x["digest"] for x in docker["layers"]]
    assert {x["mediaType"] for x in oci["layers"]} == {mt.OCI_LAYER}
    by_digest = requests.get(f"{lab.endpoint_url}/v2/{name}/manifests/{digest}", auth=auth,
                             headers={"Accept": mt.OCI_MANIFEST}, timeout=TIMEOUT)
    assert by_digest.status_code == 404  # ECR's user guide: no translation by digest
    assert by_digest.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"


def test_batch_get_image_with_accepted_media_types(lab: Any, schema2_image: tuple[str, str],
                                                   require_aws_cli: None) -> None:
    name, digest = schema2_image
    r = aws(lab, "batch-get-image", "--repository-name", name, "--image-ids", "imageTag=v1",
            "--accepted-media-types", mt.OCI_MANIFEST)
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    assert answer["failures"] == []
    [image] = answer["images"]
    assert image["imageManifestMediaType"] == mt.OCI_MANIFEST
    assert json.loads(image["imageManifest"])["mediaType"] == mt.OCI_MANIFEST
    assert image["imageId"]["imageTag"] == "v1" and image["imageId"]["imageDigest"] != digest
    r = aws(lab, "batch-get-image", "--repository-name", name, "--image-ids",
            f"imageDigest={digest}", "--accepted-media-types", mt.OCI_MANIFEST)
    assert r.returncode == 0, r.stderr
    [failure] = json.loads(r.stdout)["failures"]
    assert failure["failureCode"] == "ImageNotFound"
    assert failure["failureReason"].startswith("The ECR lab: ")


# ---- 8. tags of resources ---------------------------------------------------------------------
@pytest.mark.parametrize("tag", [{"Key": "aws:team", "Value": "a"},
                                 {"Key": "k" * 129, "Value": "a"},
                                 {"Key": "team", "Value": "v" * 257}])
def test_tag_resource_refuses_what_ecr_refuses(ecr_client: Any, repo: str,
                                               tag: dict[str, str]) -> None:
    arn = ecr_client.describe_repositories(repositoryNames=[repo])["repositories"][0][
        "repositoryArn"]
    code, message = refusal(ecr_client.tag_resource, resourceArn=arn, tags=[tag])
    assert code == "InvalidTagParameterException"
    assert_ecr_message("model.InvalidTagParameterException", message)
    assert ecr_client.list_tags_for_resource(resourceArn=arn)["tags"] == []
    ecr_client.tag_resource(resourceArn=arn, tags=[{"Key": "k" * 128, "Value": "v" * 256}])
    tags = [{"Key": f"t{i}", "Value": ""} for i in range(50)]
    code, message = refusal(ecr_client.tag_resource, resourceArn=arn, tags=tags)
    assert code == "TooManyTagsException"
    assert_ecr_message("model.TooManyTagsException", message)


# ---- 9. smaller ones --------------------------------------------------------------------------
def test_download_url_of_a_layer_no_image_uses(ecr_client: Any, repo: str) -> None:
    layer = upload(ecr_client, repo, b"never in an image")
    code, message = refusal(ecr_client.get_download_url_for_layer, repositoryName=repo,
                            layerDigest=layer)
    assert code == "LayerInaccessibleException"
    assert_ecr_message("model.LayerInaccessibleException", message)


def test_malformed_digests_and_tags_that_name_another_image(ecr_client: Any, repo: str) -> None:
    digests = {}
    for tag in ("v1", "v2"):
        upload(ecr_client, repo, tag.encode())
        digests[tag] = ecr_client.put_image(repositoryName=repo, imageTag=tag,
                                            imageManifest=image_manifest(tag.encode()))[
            "image"]["imageId"]["imageDigest"]
    out = ecr_client.batch_get_image(repositoryName=repo, imageIds=[
        {"imageDigest": "latest"}, {"imageDigest": digests["v1"], "imageTag": "v2"}])
    assert out["images"] == []
    assert [f["failureCode"] for f in out["failures"]] == ["InvalidImageDigest",
                                                           "ImageTagDoesNotMatchDigest"]
    out = ecr_client.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": "v1"}])
    assert [f["failureCode"] for f in out["failures"]] == ["InvalidImageDigest"]
    code, message = refusal(ecr_client.describe_images, repositoryName=repo,
                            imageIds=[{"imageDigest": "latest"}])
    assert_ecr_message("api.invalid-parameter.image-digest-pattern", message)


def test_a_kms_key_with_aes256_is_refused(ecr_client: Any) -> None:
    name = unique("audit-kms")
    code, message = refusal(ecr_client.create_repository, repositoryName=name,
                            encryptionConfiguration={"encryptionType": "AES256",
                                                     "kmsKey": "alias/mine"})
    assert code == "InvalidParameterException" and message.startswith("The ECR lab refuses")
    code, _ = refusal(ecr_client.describe_repositories, repositoryNames=[name])
    assert code == "RepositoryNotFoundException"


def test_exclusion_filter_errors_print_no_python_dict(ecr_client: Any, repo: str) -> None:
    bad = {"imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD",
                                                   "filter": "bad filter!"}]}
    for extra in ({}, bad):
        code, message = refusal(ecr_client.put_image_tag_mutability, repositoryName=repo,
                                imageTagMutability="IMMUTABLE_WITH_EXCLUSION", **extra)
        assert code == "InvalidParameterException"
        assert "{" not in message.replace("{1,128}", "") and "'filterType'" not in message, \
            message


# ---- a lab of its own: its clock moves, its account settings change --------------------------
@pytest.fixture(scope="module")
def own_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("audit-lab")
    lab = process.start(home, port=free_port())
    yield lab
    process.stop(home)


@pytest.fixture()
def own_ecr(own_lab: Any) -> Any:
    return boto3.client("ecr", endpoint_url=own_lab.endpoint_url, region_name=own_lab.region,
                        aws_access_key_id=config.LAB_ACCESS_KEY,
                        aws_secret_access_key=config.LAB_SECRET_KEY)


def push_sample(lab: Any, ecr: Any, name: str, home: Path) -> str:
    engine = BuiltinEngine(home=home)
    sample.ensure_base(engine)
    engine.build(sample.context(1), f"{lab.registry}/{name}:v1")
    engine.login(lab.registry, *registry_credentials(ecr))
    return engine.push(f"{lab.registry}/{name}:v1", progress=False).digest


# ---- 6. scanning -----------------------------------------------------------------------------
def test_one_scan_per_image_per_day(own_lab: Any, own_ecr: Any, tmp_path: Path) -> None:
    name = unique("audit-scan")
    own_ecr.create_repository(repositoryName=name)
    digest = push_sample(own_lab, own_ecr, name, tmp_path / "engine")
    image = {"imageDigest": digest}
    own_ecr.start_image_scan(repositoryName=name, imageId=image)
    code, message = refusal(own_ecr.start_image_scan, repositoryName=name, imageId=image)
    assert code == "LimitExceededException"
    assert_ecr_message("model.LimitExceededException", message)
    try:
        own_lab.advance_clock(hours=25)
        assert own_ecr.start_image_scan(repositoryName=name, imageId=image)["imageScanStatus"]
    finally:
        own_lab.reset_clock()


def test_the_registry_scan_on_push_filter_is_applied(own_lab: Any, own_ecr: Any,
                                                     tmp_path: Path) -> None:
    own_ecr.put_registry_scanning_configuration(scanType="BASIC", rules=[{
        "scanFrequency": "SCAN_ON_PUSH",
        "repositoryFilters": [{"filter": "audit-scanned-*", "filterType": "WILDCARD"}]}])
    try:
        scanned, other = unique("audit-scanned"), unique("audit-plain")
        for name in (scanned, other):
            own_ecr.create_repository(repositoryName=name)  # scanOnPush false on both
        configs = own_ecr.batch_get_repository_scanning_configuration(
            repositoryNames=[scanned, other])["scanningConfigurations"]
        assert [(c["scanFrequency"], c["appliedScanFilters"]) for c in configs] == [
            ("SCAN_ON_PUSH", [{"filter": "audit-scanned-*", "filterType": "WILDCARD"}]),
            ("MANUAL", [])]
        for name in (scanned, other):
            push_sample(own_lab, own_ecr, name, tmp_path / "engine")
        found = own_ecr.describe_image_scan_findings(repositoryName=scanned,
                                                     imageId={"imageTag": "v1"})
        assert found["imageScanStatus"]["status"] == "UNSUPPORTED_IMAGE"  # one static binary
        code, _ = refusal(own_ecr.describe_image_scan_findings, repositoryName=other,
                          imageId={"imageTag": "v1"})
        assert code == "ScanNotFoundException"
        code, _ = refusal(own_ecr.start_image_scan, repositoryName=scanned,
                          imageId={"imageTag": "v1"})
        assert code == "LimitExceededException"  # the scan on push counts
    finally:
        own_ecr.put_registry_scanning_configuration(scanType="BASIC", rules=[])


# ---- 7. blob mounting: off unless BLOB_MOUNTING is ENABLED ------------------------------------
def docker(env: dict[str, str], *args: str, stdin: str | None = None
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], env=env, input=stdin, capture_output=True,
                          text=True, timeout=300)


def test_blob_mounting_is_an_account_setting(own_lab: Any, own_ecr: Any, tmp_path: Path,
                                             require_docker: None, require_aws_cli: None) -> None:
    env = lab_environ(own_lab, tmp_path / "docker-config")
    env["DOCKER_BUILDKIT"] = "0"
    r = docker(env, "login", "--username", "AWS", "--password-stdin", own_lab.registry,
               stdin=registry_credentials(own_ecr)[1])
    assert r.returncode == 0, r.stderr
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "f.txt").write_text(f"mount {uuid.uuid4()}\n")
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM scratch\nCOPY f.txt /f.txt\n")
    local = f"labkit-audit-mount-{uuid.uuid4().hex[:8]}:1"
    assert docker(env, "build", "-q", "-t", local, str(tmp_path / "ctx")).returncode == 0
    names = [unique("audit-mount") for _ in range(3)]
    refs = [f"{own_lab.registry}/{n}:1" for n in names]
    try:
        outputs = []
        for i, (name, ref) in enumerate(zip(names, refs, strict=True)):
            own_ecr.create_repository(repositoryName=name)
            if i == 2:
                r = subprocess.run(["aws", "ecr", "put-account-setting", "--name",
                                    "BLOB_MOUNTING", "--value", "ENABLED"],
                                   env=lab_environ(own_lab), capture_output=True, text=True,
                                   timeout=120)
                assert r.returncode == 0, r.stderr
                assert json.loads(r.stdout) == {"name": "BLOB_MOUNTING", "value": "ENABLED"}
            assert docker(env, "tag", local, ref).returncode == 0
            r = docker(env, "push", ref)
            assert r.returncode == 0, r.stderr
            outputs.append(r.stdout)
        assert "Mounted from" not in outputs[0] + outputs[1]  # ECR's default: DISABLED
        assert "Pushed" in outputs[1]
        assert f"Mounted from {names[1]}" in outputs[2] or f"Mounted from {names[0]}" \
            in outputs[2]
    finally:
        own_ecr.put_account_setting(name="BLOB_MOUNTING", value="DISABLED")
        docker(env, "rmi", "-f", local, *refs)


def test_an_unknown_account_setting_prints_no_python_dict(own_ecr: Any) -> None:
    code, message = refusal(own_ecr.put_account_setting, name="BLOB_MOUNTING", value="MAYBE")
    assert code == "InvalidParameterException"
    assert "BLOB_MOUNTING (ENABLED, DISABLED)" in message and "{" not in message
    assert own_ecr.get_account_setting(name="BLOB_MOUNTING")["value"] == "DISABLED"
