"""The built-in builder: reproducible digests, the Dockerfile subset, and what lands in the layout."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from labkit.course import sample
from labkit.engines.base import EngineError
from labkit.engines.builtin import BuiltinEngine
from labkit.oci import digest as dg
from labkit.oci import manifest as mf
from labkit.oci import mediatypes as mt


def build_all(home: Path) -> dict[str, str]:
    """Build base, v1 and v2 in `home`; map each tag to its manifest digest."""
    engine = BuiltinEngine(home=home)
    sample.ensure_base(engine)
    engine.build(sample.context(1), "hello-app:v1")
    engine.build(sample.context(2), "hello-app:v2")
    return {ref: d.digest for ref, d in engine.store.references().items()}


def context(tmp_path: Path, dockerfile: str, files: dict[str, str] | None = None) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir(exist_ok=True)
    (ctx / "Dockerfile").write_text(dockerfile)
    for name, text in (files or {}).items():
        p = ctx / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return ctx


def layer_members(engine: BuiltinEngine, digest: str) -> list[tarfile.TarInfo]:
    with tarfile.open(engine.store.blob_path(digest), "r:gz") as tar:
        return tar.getmembers()


def test_two_fresh_homes_give_identical_digests(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first = build_all(tmp_path / "a")
    # touch the sources: file times must not matter
    for p in sample.base_context().rglob("*"):
        p.touch()
    second = build_all(tmp_path / "b")
    assert first == second
    assert set(first) == {"labkit/base:1.0", "hello-app:v1", "hello-app:v2"}
    blobs_a = sorted(p.name for p in (tmp_path / "a" / "blobs" / "sha256").iterdir())
    blobs_b = sorted(p.name for p in (tmp_path / "b" / "blobs" / "sha256").iterdir())
    assert blobs_a == blobs_b


def test_source_date_epoch_changes_times_and_digests(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    plain = build_all(tmp_path / "a")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    dated = build_all(tmp_path / "b")
    assert plain["labkit/base:1.0"] != dated["labkit/base:1.0"]
    engine = BuiltinEngine(home=tmp_path / "b")
    img = engine.store.resolve("labkit/base:1.0")
    assert img.config["created"] == "2023-11-14T22:13:20Z"
    assert {m.mtime for m in layer_members(engine, img.manifest.layers[0].digest)} == {1700000000}


def test_v1_and_v2_differ_only_in_the_app_layer(tmp_path: Path) -> None:
    engine = BuiltinEngine(home=tmp_path)
    base = sample.ensure_base(engine)
    v1 = engine.build(sample.context(1), "hello-app:v1")
    v2 = engine.build(sample.context(2), "hello-app:v2")
    assert len(base.layers) == 2 and len(v1.layers) == len(v2.layers) == 3
    assert v1.layers[:2] == v2.layers[:2] == base.layers
    assert v1.layers[2] != v2.layers[2]
    sizes = [engine.store.blob_path(d).stat().st_size for d in v1.layers]
    assert len(set(sizes)) == 3, "layers should have distinct sizes for the course's tables"
    assert sample.ensure_base(engine) == base  # already there: not rebuilt


def test_layout_contents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    engine = BuiltinEngine(home=tmp_path)
    sample.ensure_base(engine)
    engine.build(sample.context(1), "hello-app:v1")
    assert json.loads((tmp_path / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((tmp_path / "index.json").read_text())
    names = [m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]]
    assert names == ["hello-app:v1", "labkit/base:1.0"]
    for blob in (tmp_path / "blobs" / "sha256").iterdir():  # every blob is what its name says
        assert dg.of_file(str(blob)) == f"sha256:{blob.name}"
    assert list((tmp_path / "tmp").iterdir()) == []

    entry = next(m for m in index["manifests"]
                 if m["annotations"]["org.opencontainers.image.ref.name"] == "hello-app:v1")
    assert entry["mediaType"] == mt.DOCKER_MANIFEST
    raw = engine.store.read_blob(entry["digest"])
    m = mf.parse(raw)
    assert m.media_type == mt.DOCKER_MANIFEST and entry["size"] == len(raw)
    assert m.config is not None and m.config.media_type == mt.DOCKER_CONFIG
    assert all(x.media_type == mt.DOCKER_LAYER for x in m.layers)
    cfg = json.loads(engine.store.read_blob(m.config.digest))
    assert cfg["os"] == "linux" and cfg["architecture"] == "amd64"
    assert cfg["created"] == "1970-01-01T00:00:00Z"
    assert cfg["config"]["Cmd"] == ["/app/hello"]
    assert cfg["config"]["Labels"]["org.opencontainers.image.title"] == "hello-app"
    assert "LANG=C.UTF-8" in cfg["config"]["Env"]
    assert [h.get("empty_layer", False) for h in cfg["history"]].count(False) == 3
    # diff_ids are the sha256 of each layer's uncompressed tar
    for layer, diff_id in zip(m.layers, cfg["rootfs"]["diff_ids"], strict=True):
        data = gzip.decompress(engine.store.read_blob(layer.digest))
        assert diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
        assert layer.size == engine.store.blob_path(layer.digest).stat().st_size


def test_tar_entries_are_normalised(tmp_path: Path) -> None:
    engine = BuiltinEngine(home=tmp_path)
    sample.ensure_base(engine)
    v1 = engine.build(sample.context(1), "app")
    raw = engine.store.read_blob(v1.layers[2])
    assert raw[4:8] == b"\0\0\0\0", "gzip mtime must be 0"
    assert not raw[3] & 0x08, "gzip must carry no file name"
    members = layer_members(engine, v1.layers[2])
    assert [m.name for m in members] == ["app", "app/VERSION", "app/hello"]
    for m in members:
        assert (m.uid, m.gid, m.uname, m.gname, m.mtime) == (0, 0, "", "", 0)
        assert not m.pax_headers
    modes = {m.name: m.mode for m in members}
    assert modes == {"app": 0o755, "app/VERSION": 0o644, "app/hello": 0o755}
    base_names = [m.name for m in layer_members(engine, v1.layers[1])]
    assert base_names[:3] == ["usr", "usr/share", "usr/share/labkit"]  # parents first


def test_config_instructions(tmp_path: Path) -> None:
    ctx = context(tmp_path, """\
# syntax=docker/dockerfile:1
FROM scratch
ENV APP=/srv/app MODE="fast mode"
ENV LEGACY hello world
WORKDIR $APP
WORKDIR sub
COPY a.txt .
COPY dir/ ${APP}/data/
COPY ["a.txt", "b.txt", "/multi/"]
LABEL one=1 \\
      two="2 2"
ENTRYPOINT ["/bin/app"]
CMD run --fast
""", {"a.txt": "a", "b.txt": "bb", "dir/x/y.txt": "y"})
    engine = BuiltinEngine(home=tmp_path / "home")
    img = engine.build(ctx, "cfg:1")
    cfg = engine.store.resolve("cfg:1").config["config"]
    assert cfg["Env"][1:] == ["APP=/srv/app", "MODE=fast mode", "LEGACY=hello world"]
    assert cfg["WorkingDir"] == "/srv/app/sub"
    assert cfg["Labels"] == {"one": "1", "two": "2 2"}
    assert cfg["Entrypoint"] == ["/bin/app"]
    assert cfg["Cmd"] == ["/bin/sh", "-c", "run --fast"]
    names = [[m.name for m in layer_members(engine, d) if m.isfile()] for d in img.layers]
    assert names == [["srv/app/sub/a.txt"], ["srv/app/data/x/y.txt"],
                     ["multi/a.txt", "multi/b.txt"]]


def test_entrypoint_resets_inherited_cmd(tmp_path: Path) -> None:
    engine = BuiltinEngine(home=tmp_path / "home")
    engine.build(context(tmp_path, 'FROM scratch\nCMD ["a"]\n'), "parent:1")
    (tmp_path / "ctx" / "Dockerfile").write_text('FROM parent:1\nENTRYPOINT ["/e"]\n')
    engine.build(tmp_path / "ctx", "child:1")
    cfg = engine.store.resolve("child:1").config["config"]
    assert cfg["Entrypoint"] == ["/e"] and "Cmd" not in cfg


@pytest.mark.parametrize(("dockerfile", "expected"), [
    ("FROM scratch\nCOPY a.txt /\nRUN echo hi\n", "line 3: RUN is not supported"),
    ("FROM scratch\n\n# c\nADD a.txt /\n", "line 4: ADD is not supported"),
    ("ARG X=1\nFROM scratch\n", "line 1: ARG is not supported"),
    ("FROM scratch\nCOPY --chown=1000:1000 a.txt /\n", "line 2: COPY: --chown is not supported"),
    ("FROM scratch\nCOPY --from=build a.txt /\n", "line 2: COPY: --from is not supported"),
    ("FROM scratch AS a\nFROM scratch\n", "line 2: FROM: multi-stage"),
    ("COPY a.txt /\n", "first instruction must be FROM"),
    ("FROM scratch\nCOPY ../secret /\n", "outside the build context"),
    ("FROM scratch\nCOPY missing.txt /\n", "not found in the build context"),
    ("FROM scratch\nCOPY *.none /\n", "matched nothing"),
    ("FROM nothing/here:1\n", "not in the built-in engine's store"),
    ("FROM scratch\nLABEL novalue\n", "expected key=value"),
])
def test_refused(tmp_path: Path, dockerfile: str, expected: str) -> None:
    engine = BuiltinEngine(home=tmp_path / "home")
    ctx = context(tmp_path, dockerfile, {"a.txt": "a"})
    with pytest.raises(EngineError) as info:
        engine.build(ctx, "refused:1")
    assert expected in str(info.value)
    assert engine.images() == []
    assert list((tmp_path / "home" / "tmp").iterdir()) == []


def test_missing_dockerfile(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="no Dockerfile"):
        BuiltinEngine(home=tmp_path / "home").build(tmp_path, "x:1")


def test_rebuilding_the_same_tag_is_stable_and_retags(tmp_path: Path) -> None:
    engine = BuiltinEngine(home=tmp_path / "home")
    ctx = context(tmp_path, "FROM scratch\nCOPY a.txt /\n", {"a.txt": "one"})
    first = engine.build(ctx, "t:1")
    assert engine.build(ctx, "t:1") == first
    (ctx / "a.txt").write_text("two")
    second = engine.build(ctx, "t:1")
    assert second.id != first.id
    assert [i.ref for i in engine.images()] == ["t:1"]


def test_tar_is_readable_by_python_as_a_stream(tmp_path: Path) -> None:
    engine = BuiltinEngine(home=tmp_path / "home")
    img = engine.build(context(tmp_path, "FROM scratch\nCOPY a.txt /a\n", {"a.txt": "x"}), "s:1")
    data = gzip.decompress(engine.store.read_blob(img.layers[0]))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        member = tar.getmember("a")
        f = tar.extractfile(member)
        assert f is not None and f.read() == b"x"
