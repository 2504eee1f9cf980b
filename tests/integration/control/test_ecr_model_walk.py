"""Every operation of botocore's ECR model, called with boto3 against a running lab with minimal
valid input generated from the model; then the course's flow on the same lab.

Each operation must answer either as ECR does (a response botocore parses, or one of the
operation's modeled ECR exceptions) or with the lab's clear "does not support" error, never a
500; and no call may leave the lab broken (the issue's example: PutRegistryScanningConfiguration
with no rules used to break every later CreateRepository).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest
import requests
from botocore.model import Shape

from labkit import config
from labkit.course import sample
from labkit.engines.builtin import BuiltinEngine
from labkit.lab import process
from labkit.lab.process import free_port
from tests.conftest import registry_credentials, unique

UNSUPPORTED = "The ECR lab does not support"
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "all", "Effect": "Allow", "Principal": "*", "Action": "ecr:*"}]})
LIFECYCLE = json.dumps({"rules": [{"rulePriority": 1, "selection": {
    "tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 5},
    "action": {"type": "expire"}}]})


@pytest.fixture(scope="module")
def walk_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A lab of its own: the walk changes registry-wide settings on purpose."""
    home = tmp_path_factory.mktemp("walk-lab")
    lab = process.start(home, port=free_port())
    yield lab
    process.stop(home)


def client(lab: Any) -> Any:
    return boto3.client("ecr", endpoint_url=lab.endpoint_url, region_name=lab.region,
                        aws_access_key_id=config.LAB_ACCESS_KEY,
                        aws_secret_access_key=config.LAB_SECRET_KEY,
                        config=botocore.config.Config(retries={"max_attempts": 1}))


class Inputs:
    """Minimal valid input for an operation, built from its input shape."""

    def __init__(self, repo: str, account: str, region: str, digest: str, manifest: str):
        self.known: dict[str, Any] = {
            "repositoryName": repo, "imageTag": "walk", "imageDigest": digest,
            "layerDigest": digest, "uploadId": str(uuid.uuid4()), "policyText": POLICY,
            "lifecyclePolicyText": LIFECYCLE, "imageManifest": manifest,
            "resourceArn": f"arn:aws:ecr:{region}:{account}:repository/{repo}",
            "prefix": "walk", "ecrRepositoryPrefix": "walk",
            "upstreamRegistryUrl": "public.ecr.aws", "registryId": account,
            "principalArn": f"arn:aws:iam::{account}:role/walk",
            "name": "BASIC_SCAN_TYPE_VERSION", "value": "AWS_NATIVE",
            "region": region, "filter": "walk*", "Key": "team", "Value": "walk",
            "appliedFor": ["CREATE_ON_PUSH"], "layerDigests": [digest],
            "imageId": {"imageDigest": digest}, "subjectId": {"imageDigest": digest},
            "imageIds": [{"imageTag": "walk"}],
        }

    def build(self, shape: Shape, name: str = "") -> Any:
        if name in self.known and shape.type_name in ("string", "list", "structure"):
            return self.known[name]
        kind = shape.type_name
        if kind == "structure":
            return {m: self.build(shape.members[m], m) for m in shape.required_members}
        if kind == "list":
            return [self.build(shape.member, name)]
        if kind == "map":
            return {}
        if kind == "string":
            if shape.enum:
                return shape.enum[0]
            return "walk" + "x" * max(0, int(shape.metadata.get("min", 0)) - 4)
        if kind in ("integer", "long"):
            return int(shape.metadata.get("min", 1))
        if kind == "boolean":
            return False
        if kind == "blob":
            return b"walk"
        if kind == "timestamp":
            return 0
        return None


def seed(ecr: Any, lab: Any, repo: str) -> tuple[str, str]:
    """A repository with one image, pushed with the layer API and PutImage; (digest, manifest)."""
    ecr.create_repository(repositoryName=repo)
    descs = []
    for data in (b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"}}',
                 b"walk layer"):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        up = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
        ecr.upload_layer_part(repositoryName=repo, uploadId=up, partFirstByte=0,
                              partLastByte=len(data) - 1, layerPartBlob=data)
        ecr.complete_layer_upload(repositoryName=repo, uploadId=up, layerDigests=[digest])
        descs.append({"digest": digest, "size": len(data)})
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **descs[0]},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **descs[1]}]})
    out = ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag="walk")
    return out["image"]["imageId"]["imageDigest"], manifest


def walk(lab: Any) -> dict[str, list[tuple[str, str]]]:
    ecr = client(lab)
    repo = unique("walk/repo")
    digest, manifest = seed(ecr, lab, repo)
    inputs = Inputs(repo, lab.account_id, lab.region, digest, manifest)
    model = ecr.meta.service_model
    # Deletes last, so the other operations find something to work on.
    names = sorted(model.operation_names, key=lambda n: (n.startswith(("Delete", "BatchDelete")), n))
    methods = {api: py for py, api in ecr.meta.method_to_api_mapping.items()}
    outcome: dict[str, list[tuple[str, str]]] = {"ecr": [], "unsupported": [], "500": []}
    for op_name in names:
        op = model.operation_model(op_name)
        params = inputs.build(op.input_shape) if op.input_shape else {}
        method = getattr(ecr, methods[op_name])
        try:
            method(**params)
            outcome["ecr"].append((op_name, "ok"))
        except botocore.exceptions.ClientError as e:
            err, status = e.response["Error"], e.response["ResponseMetadata"]["HTTPStatusCode"]
            modeled = {s.name for s in op.error_shapes}
            if status >= 500:
                outcome["500"].append((op_name, f"{err.get('Code')}: {err.get('Message')}"))
            elif UNSUPPORTED in err.get("Message", ""):
                outcome["unsupported"].append((op_name, err["Code"]))
            elif err["Code"] in modeled or err["Code"] == "ValidationException":
                outcome["ecr"].append((op_name, err["Code"]))
            else:
                outcome["500"].append((op_name, f"unmodeled {err['Code']}: {err['Message']}"))
    return outcome


def test_every_operation_answers_then_the_course_flow_works(walk_lab: Any, tmp_path) -> None:
    outcome = walk(walk_lab)
    total = sum(len(v) for v in outcome.values())
    print(f"\nECR operations: {total}; answered as ECR: {len(outcome['ecr'])}; "
          f"unsupported: {len(outcome['unsupported'])}; 500/unmodeled: {len(outcome['500'])}")
    for kind in ("ecr", "unsupported", "500"):
        for op_name, what in outcome[kind]:
            print(f"  {kind:12} {op_name:45} {what}")
    assert total == len(client(walk_lab).meta.service_model.operation_names) >= 62
    assert outcome["500"] == []

    # The course's flow on the same lab: create, log in, push, pull.
    ecr = client(walk_lab)
    name = unique("walk/hello-app")
    ecr.create_repository(repositoryName=name)  # still works after every registry-wide call
    engine = BuiltinEngine(home=tmp_path / "engine")
    sample.ensure_base(engine)
    engine.build(sample.context(1), "hello-app:v1")
    R = walk_lab.registry
    engine.tag("hello-app:v1", f"{R}/{name}:v1")
    assert engine.login(R, "AWS", registry_credentials(ecr)[1]) == "Login Succeeded"
    pushed = engine.push(f"{R}/{name}:v1", progress=False)
    described = ecr.describe_images(repositoryName=name)["imageDetails"]
    assert [d["imageDigest"] for d in described] == [pushed.digest]
    engine.remove(f"{R}/{name}:v1")
    engine.pull(f"{R}/{name}:v1", progress=False)
    # and the lab's registry still answers plainly
    r = requests.get(f"{walk_lab.endpoint_url}/v2/", auth=registry_credentials(ecr), timeout=10)
    assert r.status_code == 200
