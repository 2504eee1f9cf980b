"""Lifecycle policies applied for real, the lab clock, creation templates (create on push) and
garbage collection, with the real AWS CLI and docker CLI against real labs."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labkit.lab import process
from tests.conftest import free_port, lab_environ, unique
from tests.integration.lab.test_lab_seed_flow import docker_login, make_context, sh

pytestmark = pytest.mark.docker

KEEP_TWO = json.dumps({"rules": [{
    "rulePriority": 1, "description": "keep the last two images",
    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 2},
    "action": {"type": "expire"}}]})
OLDER_THAN_14_DAYS = json.dumps({"rules": [{
    "rulePriority": 1, "description": "expire v* images older than 14 days",
    "selection": {"tagStatus": "tagged", "tagPatternList": ["v*"],
                  "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14},
    "action": {"type": "expire"}}]})


def labkit(*args: str, env: dict[str, str]) -> str:
    r = subprocess.run([sys.executable, "-m", "labkit", *args], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, f"labkit {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.fixture()
def private_lab(tmp_path, monkeypatch):
    """A lab of its own (these tests move its clock and collect its garbage at once)."""
    monkeypatch.setenv("LABKIT_GC_GRACE", "0")
    monkeypatch.setenv("LABKIT_LIFECYCLE_INTERVAL", "0")
    home = tmp_path / "private-lab"
    lab = process.start(home, port=free_port())
    yield lab
    process.stop(home)


def env_for(lab, tmp_path: Path) -> dict[str, str]:
    env = lab_environ(lab, tmp_path / "docker-config")
    env["DOCKER_BUILDKIT"] = "0"
    return env


def push(lab, env, name: str, tag: str, ctx_root: Path, text: str) -> None:
    ctx = make_context(ctx_root / f"ctx-{tag}", text, salt=name)
    sh(f"docker build -q -t {lab.registry}/{name}:{tag} {ctx}", env)
    sh(f"docker push {lab.registry}/{name}:{tag}", env)


def tags_of(env, name: str) -> list[str]:
    out = json.loads(sh(f"aws ecr describe-images --repository-name {name}", env).stdout)
    return sorted(t for d in out["imageDetails"] for t in d.get("imageTags", []))


def test_keep_the_last_two_images(private_lab, tmp_path, require_docker, require_aws_cli
                                  ) -> None:
    lab = private_lab  # its schedule is off: the policy applies when the test says so
    env = env_for(lab, tmp_path)
    name = unique("lifecycle/keep-two")
    sh(f"aws ecr create-repository --repository-name {name}", env)
    sh(f"aws ecr put-lifecycle-policy --repository-name {name} "
       f"--lifecycle-policy-text '{KEEP_TWO}'", env)
    docker_login(lab, env)
    for i in range(1, 5):
        push(lab, env, name, f"v{i}", tmp_path, f"version {i}\n")
        lab.advance_clock(hours=1)  # distinct push times (ECR keeps the newest by push time)
    assert tags_of(env, name) == ["v1", "v2", "v3", "v4"]
    out = labkit("lab", "lifecycle", "run", "--repository", name, env=env)
    assert f"{name}: expired 2 image(s)" in out and "v1" in out and "v2" in out
    assert tags_of(env, name) == ["v3", "v4"]
    sh(f"docker rmi -f {lab.registry}/{name}:v1", env, check=False)
    pull = sh(f"docker pull {lab.registry}/{name}:v1", env, check=False)
    assert pull.returncode != 0 and "not found" in (pull.stderr + pull.stdout).lower()
    sh(f"docker pull {lab.registry}/{name}:v4", env)
    for i in range(1, 5):
        sh(f"docker rmi -f {lab.registry}/{name}:v{i}", env, check=False)


def test_the_lab_clock_makes_since_image_pushed_expire_and_survives_a_restart(
        private_lab, tmp_path, require_docker, require_aws_cli) -> None:
    lab, env = private_lab, env_for(private_lab, tmp_path)
    name = unique("lifecycle/aged")
    sh(f"aws ecr create-repository --repository-name {name}", env)
    sh(f"aws ecr put-lifecycle-policy --repository-name {name} "
       f"--lifecycle-policy-text '{OLDER_THAN_14_DAYS}'", env)
    docker_login(lab, env)
    push(lab, env, name, "v1", tmp_path, "old\n")
    assert lab.run_lifecycle(name)[0]["expired"] == []
    out = labkit("lab", "clock", "advance", "15d", env=env)
    assert "15d 0h ahead" in out
    push(lab, env, name, "v2", tmp_path, "pushed after the jump\n")  # pushed at the lab's now
    [result] = lab.run_lifecycle(name)
    assert [v["tags"] for v in result["expired"]] == [["v1"]]
    assert tags_of(env, name) == ["v2"]
    # the offset is kept under the lab's home: a restarted lab has the same clock
    process.stop(lab.home)
    again = process.start(lab.home, port=free_port())
    assert again.status()["started"]
    assert "15d 0h ahead" in labkit("lab", "clock", "show", "--home", str(lab.home), env=env)
    clock = again.clock()
    assert clock["offset"] == pytest.approx(15 * 86400)
    again.reset_clock()
    for tag in ("v1", "v2"):
        sh(f"docker rmi -f {lab.registry}/{name}:{tag}", env, check=False)


def test_a_creation_template_makes_a_push_create_the_repository(
        lab, tmp_path, require_docker, require_aws_cli) -> None:
    env = env_for(lab, tmp_path)
    prefix = unique("onpush")
    created = json.loads(sh(
        f"aws ecr create-repository-creation-template --prefix {prefix} "
        f"--applied-for CREATE_ON_PUSH --image-tag-mutability IMMUTABLE "
        f"--resource-tags Key=team,Value=course --lifecycle-policy '{KEEP_TWO}'", env).stdout)
    assert created["repositoryCreationTemplate"]["prefix"] == prefix
    again = sh(f"aws ecr create-repository-creation-template --prefix {prefix} "
               f"--applied-for CREATE_ON_PUSH", env, check=False)
    assert again.returncode != 0 and "TemplateAlreadyExistsException" in again.stderr
    docker_login(lab, env)
    name = f"{prefix}/app"
    push(lab, env, name, "1.0", tmp_path, "created on push\n")
    repo = json.loads(sh(f"aws ecr describe-repositories --repository-names {name}",
                         env).stdout)["repositories"][0]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    policy = json.loads(sh(f"aws ecr get-lifecycle-policy --repository-name {name}",
                           env).stdout)
    assert json.loads(policy["lifecyclePolicyText"]) == json.loads(KEEP_TWO)
    tags = json.loads(sh(f"aws ecr list-tags-for-resource --resource-arn {repo['repositoryArn']}",
                         env).stdout)["tags"]
    assert {"Key": "team", "Value": "course"} in tags
    assert tags_of(env, name) == ["1.0"]
    # outside the prefix (also: `onpushX` is not under `onpush/`) the push still fails as ECR's
    outside = f"{prefix}x/app"
    ctx = make_context(tmp_path / "outside", "nope\n", salt=outside)
    sh(f"docker build -q -t {lab.registry}/{outside}:1 {ctx}", env)
    r = sh(f"docker push {lab.registry}/{outside}:1", env, check=False)
    assert r.returncode != 0
    assert (f"The repository with name '{outside}' does not exist in the registry with id "
            f"'{lab.account_id}'") in r.stderr + r.stdout
    deleted = json.loads(sh(f"aws ecr delete-repository-creation-template --prefix {prefix}",
                            env).stdout)
    assert deleted["repositoryCreationTemplate"]["prefix"] == prefix
    gone = sh(f"aws ecr delete-repository-creation-template --prefix {prefix}", env,
              check=False)
    assert gone.returncode != 0 and "TemplateNotFoundException" in gone.stderr
    for ref in (f"{name}:1.0", f"{outside}:1"):
        sh(f"docker rmi -f {lab.registry}/{ref}", env, check=False)


def test_deleted_images_leave_no_blobs_behind(private_lab, tmp_path, require_docker,
                                              require_aws_cli) -> None:
    lab, env = private_lab, env_for(private_lab, tmp_path)
    name = unique("garbage")
    sh(f"aws ecr create-repository --repository-name {name}", env)
    docker_login(lab, env)
    blobs = lab.home / "registry" / "blobs" / "sha256"

    def count() -> int:
        return sum(1 for d in blobs.iterdir() for f in d.iterdir()
                   if not f.name.startswith("."))

    before = count()
    push(lab, env, name, "1.0", tmp_path, "soon garbage\n")
    assert count() == before + 4  # two layers, config, manifest
    digest = json.loads(sh(f"aws ecr describe-images --repository-name {name}",
                           env).stdout)["imageDetails"][0]["imageDigest"]
    sh(f"aws ecr batch-delete-image --repository-name {name} --image-ids imageDigest={digest}",
       env)
    deadline = time.monotonic() + 30
    while count() != before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert count() == before, "the deleted image's blobs are still on disk"
    sh(f"docker rmi -f {lab.registry}/{name}:1.0", env, check=False)


@pytest.fixture()
def graced_lab(tmp_path, monkeypatch):
    """A lab of its own with a 30 s garbage grace and no lifecycle schedule."""
    monkeypatch.setenv("LABKIT_GC_GRACE", "30")
    monkeypatch.setenv("LABKIT_LIFECYCLE_INTERVAL", "0")
    home = tmp_path / "graced-lab"
    lab = process.start(home, port=free_port())
    yield lab
    process.stop(home)


def test_concurrent_pushes_keep_their_blobs_while_garbage_is_collected(
        graced_lab, tmp_path) -> None:
    """Four real pushes (the built-in engine's registry client) race a garbage collection
    loop; an orphan older than the grace goes, every pushed image pulls back intact.
    (With LABKIT_GC_GRACE=0 this fails: MANIFEST_BLOB_UNKNOWN, layers collected mid-push.)"""
    import os
    import threading

    import boto3

    from labkit import config
    from labkit.course import sample
    from labkit.engines.builtin import BuiltinEngine
    from tests.conftest import registry_credentials

    lab = graced_lab
    ecr = boto3.client("ecr", endpoint_url=lab.endpoint_url, region_name=lab.region,
                       aws_access_key_id=config.LAB_ACCESS_KEY,
                       aws_secret_access_key=config.LAB_SECRET_KEY)
    _, password = registry_credentials(ecr)
    engine = BuiltinEngine(home=tmp_path / "engine")
    sample.ensure_base(engine)
    engine.login(lab.registry, "AWS", password)

    def build(name: str, text: str) -> str:
        ctx = tmp_path / "ctx" / name.replace("/", "_")
        ctx.mkdir(parents=True)
        (ctx / "note.txt").write_text(text)
        (ctx / "Dockerfile").write_text(f"FROM {sample.BASE_REF}\nCOPY note.txt /note.txt\n")
        ref = f"{lab.registry}/{name}:1"
        engine.build(ctx, ref)
        return ref

    # an orphan: pushed, deleted, and (by its files' times) unused for decades
    ecr.create_repository(repositoryName="gc/orphan")
    orphan = engine.push(build("gc/orphan", "orphan " + os.urandom(8).hex()), progress=False)
    ecr.batch_delete_image(repositoryName="gc/orphan", imageIds=[{"imageDigest": orphan.digest}])
    ecr.delete_repository(repositoryName="gc/orphan", force=True)
    root = lab.home / "registry"
    for dirpath, _, files in os.walk(root / "blobs"):
        for f in files:
            os.utime(os.path.join(dirpath, f), (1_000_000_000, 1_000_000_000))
    orphan_layer = [x.digest for x in orphan.layers if x.kind == "layer"][-1]

    names = [f"gc/app{i}" for i in range(4)]
    refs = {}
    for name in names:
        ecr.create_repository(repositoryName=name)
        refs[name] = build(name, f"{name} {os.urandom(64 * 1024).hex()}")
    stop, removed, failures = threading.Event(), [], []

    def collect() -> None:
        while not stop.is_set():
            removed.append(lab.collect_garbage())

    def push_all(name: str) -> None:
        try:
            mine = BuiltinEngine(home=tmp_path / "engine")  # one client per thread, one store
            mine.login(lab.registry, "AWS", password)
            for _ in range(3):  # again and again: the "Layer already exists" path too
                mine.push(refs[name], progress=False)
        except Exception as e:  # noqa: BLE001
            failures.append((name, e))

    gc = threading.Thread(target=collect)
    gc.start()
    pushers = [threading.Thread(target=push_all, args=(n,)) for n in names]
    for t in pushers:
        t.start()
    for t in pushers:
        t.join()
    stop.set()
    gc.join()
    assert not failures, failures
    assert removed, "the collection loop never ran"
    # (the lab's own collection after the delete, or the loop, took it)
    assert not (root / "blobs" / "sha256" / orphan_layer[7:9] / orphan_layer[7:]).exists()
    puller = BuiltinEngine(home=tmp_path / "puller")
    puller.login(lab.registry, "AWS", password)
    for name, ref in refs.items():
        report = puller.pull(ref, progress=False)  # verifies every digest it downloads
        assert report.digest == ecr.describe_images(repositoryName=name)["imageDetails"][0][
            "imageDigest"]


def test_the_lab_applies_policies_on_its_own_schedule(tmp_path, monkeypatch) -> None:
    """No command: with LABKIT_LIFECYCLE_INTERVAL=1 the lab expires by itself."""
    import boto3

    from labkit import config
    from labkit.course import sample
    from labkit.engines.builtin import BuiltinEngine
    from tests.conftest import registry_credentials

    monkeypatch.setenv("LABKIT_LIFECYCLE_INTERVAL", "1")
    home = tmp_path / "scheduled-lab"
    lab = process.start(home, port=free_port())
    try:
        ecr = boto3.client("ecr", endpoint_url=lab.endpoint_url, region_name=lab.region,
                           aws_access_key_id=config.LAB_ACCESS_KEY,
                           aws_secret_access_key=config.LAB_SECRET_KEY)
        ecr.create_repository(repositoryName="scheduled")
        keep_one = KEEP_TWO.replace('"countNumber": 2', '"countNumber": 1')
        ecr.put_lifecycle_policy(repositoryName="scheduled", lifecyclePolicyText=keep_one)
        engine = BuiltinEngine(home=tmp_path / "engine")
        sample.ensure_base(engine)
        engine.login(lab.registry, "AWS", registry_credentials(ecr)[1])
        for version in sample.VERSIONS:  # v1, then v2 a moment later
            ref = f"{lab.registry}/scheduled:v{version}"
            engine.build(sample.context(version), ref)
            engine.push(ref, progress=False)
            lab.advance_clock(hours=1)  # v2 is the newer by push time
        deadline = time.monotonic() + 60
        tags: list[str] = []
        while time.monotonic() < deadline:
            details = ecr.describe_images(repositoryName="scheduled")["imageDetails"]
            tags = sorted(t for d in details for t in d.get("imageTags", []))
            if tags == ["v2"]:
                break
            time.sleep(0.5)
        assert tags == ["v2"], f"the schedule never expired v1: {tags}"
    finally:
        process.stop(home)
