"""DockerEngine + the ECR target against the running lab, the way the course uses them.

`labkit.connect()` finds the session's lab through LABKIT_HOME/LABKIT_PORT. Strict layer checks
use images with random content (the shared daemon may hold the sample's layers from other
tests); the sample hello-app flow checks what the course shows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import labkit
from labkit.course import sample
from labkit.ecr.target import Target
from labkit.engines.base import EngineError
from labkit.engines.docker.engine import DockerEngine
from labkit.engines.report import EXISTS_LOCAL, EXISTS_REMOTE, PULLED, PUSHED
from tests.conftest import ShortTokens

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def target(lab, require_docker: None) -> Iterator[Target]:  # noqa: ANN001
    mp = pytest.MonkeyPatch()
    mp.setenv("LABKIT_HOME", str(lab.home))
    mp.setenv("LABKIT_PORT", str(lab.port))
    mp.delenv("LABKIT_TARGET", raising=False)
    try:
        got = labkit.connect()
        assert got.kind == "lab" and got.registry == lab.registry
        yield got
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def engine(require_docker: None) -> Iterator[DockerEngine]:
    eng = DockerEngine()
    yield eng


@pytest.fixture()
def fresh(engine: DockerEngine, target: Target) -> Iterator[DockerEngine]:
    """The engine logged out of the lab before and after a test (logins are per process)."""
    engine.logout(target.registry)
    yield engine
    engine.logout(target.registry)


def unique_images(engine: DockerEngine, root: Path, uri: str) -> dict[str, str]:
    """A random two-layer base and v1/v2 on it, tagged `uri:v1`/`uri:v2`."""
    run = uuid.uuid4().hex[:8]
    base, app = root / "base", root / "app"
    base.mkdir(parents=True)
    app.mkdir()
    (base / "big.bin").write_bytes(os.urandom(200_000))
    (base / "small.bin").write_bytes(os.urandom(10_000))
    (base / "Dockerfile").write_text("FROM scratch\nCOPY big.bin /\nCOPY small.bin /etc/\n")
    refs = {"base": f"labkit-test/base-{run}:1", "v1": f"{uri}:v1", "v2": f"{uri}:v2"}
    built = [engine.build(base, refs["base"])]
    for v in ("v1", "v2"):
        (app / "app.txt").write_text(f"{v} {run}\n")
        (app / "Dockerfile").write_text(f"FROM {refs['base']}\nCOPY app.txt /app/\n")
        built.append(engine.build(app, refs[v]))
    refs.update({f"id{i}": image.id for i, image in enumerate(built)})
    return refs


def forget(engine: DockerEngine, refs: dict[str, str]) -> None:
    """Remove every tag, then every image by id (a failed push can leave a digest-only name)."""
    for key in [k for k in refs if not k.startswith("id")]:
        engine.remove(refs[key], force=True)
    for key in sorted((k for k in refs if k.startswith("id")), reverse=True):  # children first
        engine.remove(refs[key], force=True)


def test_course_flow_on_the_lab(target: Target, fresh: DockerEngine, tmp_path: Path) -> None:
    engine = fresh
    name = f"course/hello-{uuid.uuid4().hex[:8]}"
    repo = target.create_repository(name)
    assert repo.created and repo.uri == target.uri(name, "v1").rsplit(":", 1)[0]
    login = target.login(engine)
    assert login.message == "Login Succeeded" and login.password not in repr(login)
    refs = unique_images(engine, tmp_path, repo.uri)
    try:
        v1 = engine.push(refs["v1"], progress=False)
        assert [x.status for x in v1.layers] == [PUSHED] * 3
        v2 = engine.push(refs["v2"], progress=False)
        assert [x.status for x in v2.layers] == [EXISTS_REMOTE, EXISTS_REMOTE, PUSHED]
        table = target.images(name)
        assert table.tagged("v1").digest == v1.digest
        assert table.tagged("v2").digest == v2.digest
        assert table.tagged("v2").size == v2.total_size  # ECR: sum of the layer sizes

        for key in ("v1", "v2", "base"):
            engine.remove(refs[key])
        p1 = engine.pull(refs["v1"], progress=False)
        assert [x.status for x in p1.layers] == [PULLED] * 3 and p1.digest == v1.digest
        assert p1.bytes_moved == v1.total_size
        p2 = engine.pull(refs["v2"], progress=False)
        assert [x.status for x in p2.layers] == [EXISTS_LOCAL, EXISTS_LOCAL, PULLED]
    finally:
        forget(engine, refs)
        target.delete_repository(name, missing_ok=True)


def test_sample_hello_app_second_version_sends_one_layer(target: Target, fresh: DockerEngine
                                                         ) -> None:
    engine = fresh
    name = f"hello-app-{uuid.uuid4().hex[:8]}"
    repo = target.create_repository(name)
    target.login(engine)
    sample.ensure_base(engine)
    refs = [f"{repo.uri}:v1", f"{repo.uri}:v2"]
    try:
        for version, ref in zip(sample.VERSIONS, refs, strict=True):
            engine.build(sample.context(version), f"{sample.APP_NAME}:v{version}-docker-test")
            engine.tag(f"{sample.APP_NAME}:v{version}-docker-test", ref)
        v1 = engine.push(refs[0], progress=False)
        # a layer another test already pushed to this lab is mounted, not uploaded again
        assert all(x.status == PUSHED or x.status.startswith("Mounted from") for x in v1.layers)
        v2 = engine.push(refs[1], progress=False)
        assert [x.status for x in v2.layers[:-1]] == [EXISTS_REMOTE] * (len(v2.layers) - 1)
        assert v2.layers[-1].status == PUSHED or v2.layers[-1].status.startswith("Mounted")
        assert v2.layers[-1].digest != v1.layers[-1].digest
        assert str(v2).splitlines()[-1].startswith(f"push {refs[1]}: {len(v2.layers)} layers")
        engine.remove(refs[1])
        engine.remove(f"{sample.APP_NAME}:v2-docker-test")
        p2 = engine.pull(refs[1], progress=False)
        assert [x.status for x in p2.layers[:-1]] == [EXISTS_LOCAL] * (len(p2.layers) - 1)
        assert p2.digest == v2.digest
    finally:
        for ref in [*refs, *(f"{sample.APP_NAME}:v{v}-docker-test" for v in sample.VERSIONS)]:
            engine.remove(ref)
        target.delete_repository(name, missing_ok=True)


def test_lab_errors_become_guidance(target: Target, fresh: DockerEngine, tmp_path: Path,
                                    lab) -> None:  # noqa: ANN001
    engine = fresh
    name = f"course/strict-{uuid.uuid4().hex[:8]}"
    refs = unique_images(engine, tmp_path, f"{target.registry}/{name}")
    try:
        with pytest.raises(EngineError) as err:  # no login yet
            engine.push(refs["v1"], progress=False)
        assert "log in first (notebook 02-authenticate)" in err.value.hint
        assert f"--password-stdin {target.registry}" in err.value.command

        with pytest.raises(EngineError) as err:
            engine.login(target.registry, "AWS", "not-the-password")
        assert "the user is AWS" in err.value.hint
        assert "not-the-password" not in str(err.value)

        login = target.login(engine)
        with pytest.raises(EngineError) as err:  # repository not created
            engine.push(refs["v1"], progress=False)
        assert "create the repository first" in err.value.hint
        assert login.password not in str(err.value)

        target.create_repository(name, immutable=True)
        engine.push(refs["v1"], progress=False)
        engine.tag(refs["v2"], refs["v1"])
        with pytest.raises(EngineError) as err:  # v1 already exists, repository IMMUTABLE
            engine.push(refs["v1"], progress=False)
        assert "IMMUTABLE" in err.value.hint

        with ShortTokens(lab) as tokens:
            target.login(engine)
            tokens.expire()
            with pytest.raises(EngineError) as err:
                engine.push(refs["v2"], progress=False)
        assert "log in again" in err.value.hint
    finally:
        forget(engine, refs)
        target.delete_repository(name, missing_ok=True)
