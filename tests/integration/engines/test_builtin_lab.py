"""The built-in engine against the running lab: the course's flow, the lab's ECR errors, and
interop with the docker CLI (docker pulls and runs what the built-in engine pushed, and the
built-in engine pulls what docker pushed, with the same digests)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from labkit.course import sample
from labkit.engines.base import EngineError
from labkit.engines.builtin import BuiltinEngine
from labkit.engines.report import EXISTS_LOCAL, EXISTS_REMOTE, PULLED, PUSHED
from tests.conftest import ShortTokens, lab_environ, registry_credentials, unique


def password(ecr_client: Any) -> str:
    return registry_credentials(ecr_client)[1]


def statuses(report: Any) -> list[str]:
    return [x.status for x in report.layers if x.kind == "layer"]


@pytest.fixture()
def engine(tmp_path: Path) -> BuiltinEngine:
    # its own logins: the session's DOCKER_CONFIG may hold one to the shared lab from an
    # earlier test, and test_course_flow starts logged out
    engine = BuiltinEngine(home=tmp_path / "engine",
                           docker_config=tmp_path / "engine-logins" / "config.json")
    sample.ensure_base(engine)
    engine.build(sample.context(1), "hello-app:v1")
    engine.build(sample.context(2), "hello-app:v2")
    return engine


def test_course_flow(lab: Any, ecr_client: Any, engine: BuiltinEngine, tmp_path: Path) -> None:
    name = unique("bt/hello-app")
    R = lab.registry
    for v in (1, 2):
        engine.tag(f"hello-app:v{v}", f"{R}/{name}:v{v}")
    with pytest.raises(EngineError, match=r"log in first \(notebook 02-authenticate\)"):
        engine.push(f"{R}/{name}:v1", progress=False)
    assert engine.login(R, "AWS", password(ecr_client)) == "Login Succeeded"
    with pytest.raises(EngineError) as info:
        engine.push(f"{R}/{name}:v1", progress=False)
    assert "create the repository first" in str(info.value)
    assert f"aws ecr create-repository --repository-name {name}" in str(info.value)
    ecr_client.create_repository(repositoryName=name)

    v1 = engine.push(f"{R}/{name}:v1", progress=False)
    assert statuses(v1) == [PUSHED] * 3
    v2 = engine.push(f"{R}/{name}:v2", progress=False)
    assert statuses(v2) == [EXISTS_REMOTE, EXISTS_REMOTE, PUSHED]
    described = {d["imageTags"][0]: d for d in
                 ecr_client.describe_images(repositoryName=name)["imageDetails"]}
    assert described["v1"]["imageDigest"] == v1.digest
    assert described["v2"]["imageDigest"] == v2.digest
    assert described["v2"]["imageSizeInBytes"] == v2.total_size

    puller = BuiltinEngine(home=tmp_path / "puller")
    puller.login(R, "AWS", password(ecr_client))
    p1 = puller.pull(f"{R}/{name}:v1", progress=False)
    assert statuses(p1) == [PULLED] * 3 and p1.digest == v1.digest
    assert any(s.status == 307 for s in p1.steps), "the lab redirects blob GETs to storage"
    p2 = puller.pull(f"{R}/{name}:v2", progress=False)
    assert statuses(p2) == [EXISTS_LOCAL, EXISTS_LOCAL, PULLED] and p2.digest == v2.digest


def test_immutable_tag_and_expired_token(lab: Any, ecr_client: Any,
                                         engine: BuiltinEngine) -> None:
    name = unique("bt/immutable")
    R = lab.registry
    ecr_client.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")
    engine.login(R, "AWS", password(ecr_client))
    engine.tag("hello-app:v1", f"{R}/{name}:v1")
    engine.push(f"{R}/{name}:v1", progress=False)
    engine.tag("hello-app:v2", f"{R}/{name}:v1")
    with pytest.raises(EngineError) as info:
        engine.push(f"{R}/{name}:v1", progress=False)
    assert "IMMUTABLE" in str(info.value) and "already exists" in str(info.value)

    with ShortTokens(lab) as tokens:
        short = password(ecr_client)
        engine.login(R, "AWS", short)
        tokens.expire()
        with pytest.raises(EngineError) as info:
            engine.push(f"{R}/{name}:v1", progress=False)
    assert "expired" in str(info.value) and "log in again" in str(info.value)
    assert short not in str(info.value)


def docker(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    r = subprocess.run(["docker", *args], input=stdin, capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 0, f"docker {args[0]} failed: {r.stderr}"
    return r.stdout


def test_docker_pulls_and_runs_what_builtin_pushed_and_back(
        require_docker: None, lab: Any, ecr_client: Any, engine: BuiltinEngine,
        tmp_path: Path) -> None:
    name, back = unique("bt/interop"), unique("bt/from-docker")
    for n in (name, back):
        ecr_client.create_repository(repositoryName=n)
    R = lab.registry
    secret = password(ecr_client)
    engine.login(R, "AWS", secret)
    engine.tag("hello-app:v2", f"{R}/{name}:v2")
    pushed = engine.push(f"{R}/{name}:v2", progress=False)
    env = lab_environ(lab, tmp_path / "docker-config")
    ref, ref_back = f"{R}/{name}:v2", f"{R}/{back}:v2"
    try:
        docker(env, "login", "--username", "AWS", "--password-stdin", R, stdin=secret)
        out = docker(env, "pull", ref)
        assert f"Digest: {pushed.digest}" in out
        if os.uname().machine == "x86_64":
            assert docker(env, "run", "--rm", "--network", "none", ref) == \
                sample.greeting(2) + "\n"
        docker(env, "tag", ref, ref_back)
        out = docker(env, "push", ref_back)
        docker_digest = re.search(r"digest: (sha256:[0-9a-f]{64})", out)
        assert docker_digest, out
        puller = BuiltinEngine(home=tmp_path / "puller")
        puller.login(R, "AWS", secret)
        report = puller.pull(ref_back, progress=False)
        assert statuses(report) == [PULLED] * 3
        # docker writes its own manifest bytes (so its own digest) for the very same image (its
        # config, which names the layers' content); the layers themselves docker compresses
        # again, since the lab (as ECR by default) does not let it mount them from `name`
        assert report.digest == docker_digest.group(1)
        configs = [[x.digest for x in r.layers if x.kind == "config"] for r in (report, pushed)]
        assert configs[0] == configs[1] and len(configs[0]) == 1
    finally:
        subprocess.run(["docker", "rmi", "-f", ref, ref_back], capture_output=True, env=env,
                       timeout=60)
