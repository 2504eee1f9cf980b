"""DockerEngine against CNCF Distribution (a registry we did not write), through the real daemon.

Images are built from throwaway contexts with random bytes, so no other test's layers (which the
shared daemon may hold) can turn a "Pushed" into "Layer already exists".
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from labkit.engines.base import EngineError
from labkit.engines.docker.engine import DockerEngine
from labkit.engines.report import EXISTS_LOCAL, EXISTS_REMOTE, PULLED, PUSHED
from labkit.oci import mediatypes as mt
from tests.conftest import free_port
from tests.distribution import running as running_distribution

pytestmark = [pytest.mark.docker, pytest.mark.distribution]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, require_distribution: None
             ) -> Iterator[str]:
    """A Distribution 2.x registry on a free loopback port, for this module only."""
    with running_distribution(tmp_path_factory.mktemp("distribution")) as distribution:
        yield distribution.registry


@pytest.fixture(scope="module")
def engine(require_docker: None) -> DockerEngine:
    return DockerEngine()


@pytest.fixture(scope="module")
def images(engine: DockerEngine, registry: str, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[dict[str, str]]:
    """A unique base (two layers) and app v1/v2 on it (one app layer each), tagged for the
    registry."""
    root = tmp_path_factory.mktemp("contexts")
    run = uuid.uuid4().hex[:8]
    base, app = root / "base", root / "app"
    base.mkdir()
    app.mkdir()
    (base / "big.bin").write_bytes(os.urandom(300_000))
    (base / "small.bin").write_bytes(os.urandom(20_000))
    (base / "Dockerfile").write_text("FROM scratch\nCOPY big.bin /big.bin\nCOPY small.bin /etc/\n")
    refs = {"base": f"labkit-test/base-{run}:1",
            "v1": f"{registry}/course/hello-{run}:v1", "v2": f"{registry}/course/hello-{run}:v2"}
    engine.build(base, refs["base"])
    for v in ("v1", "v2"):
        (app / "app.txt").write_text(f"hello {v} {run}\n")
        (app / "Dockerfile").write_text(f"FROM {refs['base']}\nCOPY app.txt /app/app.txt\n"
                                        'CMD ["/app/app.txt"]\n')
        engine.build(app, refs[v])
    yield refs
    for ref in refs.values():
        engine.remove(ref, force=True)


def registry_digest(registry: str, ref: str) -> str:
    repo, tag = ref[len(registry) + 1:].rsplit(":", 1)
    r = requests.head(f"http://{registry}/v2/{repo}/manifests/{tag}",
                      headers={"Accept": mt.DOCKER_MANIFEST}, timeout=10)
    r.raise_for_status()
    return r.headers["Docker-Content-Digest"]


def test_push_pull_flow(engine: DockerEngine, registry: str, images: dict[str, str]) -> None:
    v1 = engine.push(images["v1"], progress=False)
    assert [x.status for x in v1.layers] == [PUSHED] * 3
    assert v1.digest == registry_digest(registry, images["v1"])
    assert v1.bytes_moved == v1.total_size > 300_000
    assert v1.command == f"docker push {images['v1']}"
    assert all(x.digest.startswith("sha256:") and x.size > 0 for x in v1.layers)

    v2 = engine.push(images["v2"], progress=False)
    assert [x.status for x in v2.layers] == [EXISTS_REMOTE, EXISTS_REMOTE, PUSHED]
    assert [x.digest for x in v2.layers[:2]] == [x.digest for x in v1.layers[:2]]
    assert v2.layers[2].digest != v1.layers[2].digest
    assert v2.bytes_moved == v2.layers[2].size < 1000
    assert v2.digest == registry_digest(registry, images["v2"])
    assert "1 Pushed" in v2.summary() and "2 Layer already exists" in v2.summary()

    for ref in (images["v1"], images["v2"], images["base"]):
        engine.remove(ref)
    assert not {images["v1"], images["v2"]} & {x.ref for x in engine.images()}

    p1 = engine.pull(images["v1"], progress=False)
    assert [x.status for x in p1.layers] == [PULLED] * 3
    assert p1.digest == v1.digest and [x.digest for x in p1.layers] == [
        x.digest for x in v1.layers]
    assert p1.bytes_moved == v1.total_size
    p2 = engine.pull(images["v2"], progress=False)
    assert [x.status for x in p2.layers] == [EXISTS_LOCAL, EXISTS_LOCAL, PULLED]
    assert p2.bytes_moved == v2.layers[2].size
    again = engine.pull(images["v2"], progress=False)
    assert [x.status for x in again.layers] == [EXISTS_LOCAL] * 3 and again.bytes_moved == 0
    assert images["v2"] in {x.ref for x in engine.images()}


def test_push_to_another_repository_mounts(engine: DockerEngine, registry: str,
                                           images: dict[str, str]) -> None:
    engine.push(images["v1"], progress=False)
    other = images["v1"].replace("/course/hello-", "/course/other-")
    engine.tag(images["v1"], other)
    try:
        report = engine.push(other, progress=False)
        assert all(x.status.startswith("Mounted from course/hello-") for x in report.layers)
        assert report.bytes_moved == 0
    finally:
        engine.remove(other)


def test_errors_carry_hints(engine: DockerEngine, registry: str, images: dict[str, str]) -> None:
    dead = f"127.0.0.1:{free_port()}"
    gone = f"{dead}/course/hello:v1"
    engine.tag(images["v1"], gone)
    try:
        with pytest.raises(EngineError) as err:
            engine.push(gone, progress=False)
        assert "labkit lab up" in str(err.value) and "lab running" in err.value.hint
    finally:
        engine.remove(gone)
    with pytest.raises(EngineError) as err:
        engine.pull(f"{registry}/course/never-pushed:v9", progress=False)
    assert "(notebook 06-pull)" in err.value.hint
    assert "describe-images --repository-name course/never-pushed" in err.value.command
    with pytest.raises(EngineError) as err:
        engine.push(f"{registry}/course/not-tagged:v1", progress=False)
    assert "(notebook 03-tag)" in err.value.hint and "docker tag" in err.value.command
    with pytest.raises(EngineError) as err:
        engine.tag("labkit-test/no-such-image:0", f"{registry}/x/y:1")
    assert "(notebook 03-tag)" in err.value.hint


def test_build_refuses_to_pull_a_missing_base(engine: DockerEngine, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM labkit-test/never-built:0\nCOPY . /\n")
    with pytest.raises(EngineError) as err:
        engine.build(tmp_path, "labkit-test/should-not-exist:0")
    assert "never pulls from Docker Hub" in err.value.hint
    assert "ensure_base" in err.value.hint
