"""The built-in engine's OCI layout: references, tags, removal, atomicity, concurrent writers."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from labkit.course import sample
from labkit.engines.base import EngineError
from labkit.engines.builtin import BuiltinEngine, refs
from labkit.engines.builtin.auth import Credentials, DockerConfig, parse_challenge
from labkit.engines.builtin.store import Store, default_home
from labkit.oci import digest as dg


def test_default_home_follows_env(tmp_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_home() == tmp_home.resolve() / "engine"
    assert BuiltinEngine().home == tmp_home.resolve() / "engine"
    monkeypatch.setenv("LABKIT_ENGINE_HOME", str(tmp_home / "elsewhere"))
    assert BuiltinEngine().home == (tmp_home / "elsewhere").resolve()


def test_tag_images_remove_and_gc(tmp_path: Path) -> None:
    engine = BuiltinEngine(home=tmp_path)
    sample.ensure_base(engine)
    v1 = engine.build(sample.context(1), "hello-app:v1")
    v2 = engine.build(sample.context(2), "hello-app:v2")
    tagged = engine.tag("hello-app:v1", "127.0.0.1:5400/hello-app:v1")
    assert tagged.id == v1.id and tagged.ref == "127.0.0.1:5400/hello-app:v1"
    assert [i.ref for i in engine.images()] == [
        "127.0.0.1:5400/hello-app:v1", "hello-app:v1", "hello-app:v2", "labkit/base:1.0"]
    engine.remove("hello-app:v1")  # still named by the tag: nothing deleted
    assert all(engine.store.has_blob(d) for d in v1.layers)
    engine.remove("127.0.0.1:5400/hello-app:v1")
    assert not engine.store.has_blob(v1.layers[2]) and not engine.store.has_blob(v1.id)
    assert all(engine.store.has_blob(d) for d in v2.layers)  # shared layers stay
    engine.remove("hello-app:v1")  # already gone: fine, like the Docker engine (re-run cells)
    with pytest.raises(EngineError, match="No such image: hello-app:v1"):
        engine.store.remove_ref("hello-app:v1")
    with pytest.raises(EngineError, match="No such image"):
        engine.tag("nope:1", "x:1")
    engine.tag("hello-app:v2", "hello-app")
    assert "hello-app:latest" in [i.ref for i in engine.images()]


def test_failed_blob_write_leaves_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    w = store.writer()
    w.write(b"half a blob")
    with pytest.raises(EngineError, match="digest mismatch"):
        w.commit(dg.of_bytes(b"the whole blob"))
    assert list(store.blobs.iterdir()) == [] and list(store.tmp.iterdir()) == []
    assert store.put_bytes(b"ok") == dg.of_bytes(b"ok")
    assert store.read_blob(dg.of_bytes(b"ok")) == b"ok"


@pytest.mark.parametrize(("text", "expected"), [
    ("hello-app", ("", "hello-app", "latest", "")),
    ("labkit/base:1.0", ("", "labkit/base", "1.0", "")),
    ("127.0.0.1:5400/hello-app:v1", ("127.0.0.1:5400", "hello-app", "v1", "")),
    ("localhost/a/b", ("localhost", "a/b", "latest", "")),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:2",
     ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "team/app", "2", "")),
    ("127.0.0.1:5400/app@sha256:" + "a" * 64, ("127.0.0.1:5400", "app", "", "sha256:" + "a" * 64)),
])
def test_refs(text: str, expected: tuple[str, str, str, str]) -> None:
    r = refs.parse(text)
    assert (r.registry, r.repository, r.tag, r.digest) == expected
    assert refs.parse(str(r)) == r


@pytest.mark.parametrize("bad", ["Hello", "app:bad tag", "app@sha256:zz", "", "a//b"])
def test_bad_refs(bad: str) -> None:
    with pytest.raises(EngineError, match="invalid reference format"):
        refs.parse(bad)


def test_credentials_are_kept_private(tmp_path: Path) -> None:
    secret = "eyJwYXlsb2FkIjoic2VjcmV0LXBhc3N3b3JkIn0="
    creds = Credentials("AWS", secret)
    assert secret not in repr(creds) and secret not in str(creds)
    path = tmp_path / "config.json"
    path.write_text('{"auths": {}, "HttpHeaders": {"X-Kept": "yes"}}')
    store = DockerConfig(path)
    store.save("https://127.0.0.1:5400/", creds)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert secret not in repr(store)
    assert '"X-Kept": "yes"' in path.read_text()  # docker's other settings are kept
    again = DockerConfig(path).get("127.0.0.1:5400")
    assert again == creds
    store.erase("127.0.0.1:5400")
    assert DockerConfig(path).get("127.0.0.1:5400") is None
    engine = BuiltinEngine(home=tmp_path / "e")
    assert secret not in repr(engine)


def test_parse_challenge() -> None:
    assert parse_challenge('Basic realm="Amazon ECR",service="ecr.amazonaws.com"') == (
        "basic", {"realm": "Amazon ECR", "service": "ecr.amazonaws.com"})
    scheme, params = parse_challenge(
        'Bearer realm="https://auth/token",service="reg",scope="repository:a/b:pull,push"')
    assert scheme == "bearer" and params["scope"] == "repository:a/b:pull,push"


def test_labkit_engine_stays_callable_after_importing_the_package() -> None:
    import labkit
    import labkit.engines  # rebinds labkit.engines from the function to the package

    assert labkit.engine("builtin").name == "builtin"
    with pytest.raises(ValueError, match="LABKIT_ENGINE must be"):
        labkit.engine("podman")
