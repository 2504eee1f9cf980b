"""The store's parts on their own (registry/store/): where records live, the memos and what
invalidates them, a registry per directory with nothing shared between two."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from labkit.lab.registry import errors
from labkit.lab.registry.storage import Storage
from labkit.lab.registry.store.changes import MEMO_LIMIT, Changes, remember
from labkit.lab.registry.store.files import Files
from labkit.oci import digest as dg
from labkit.oci import manifest as mf
from labkit.oci import mediatypes as mt


def pushed(s: Storage, name: str, layer: bytes = b"layer") -> mf.Manifest:
    config = b'{"os":"linux","architecture":"amd64"}'
    for data in (config, layer):
        s.put_blob(name, dg.of_bytes(data), [data])
    return mf.parse(mf.build(mf.Descriptor(mt.OCI_CONFIG, dg.of_bytes(config), len(config)),
                             [mf.Descriptor(mt.OCI_LAYER, dg.of_bytes(layer), len(layer))]))


# ---- files ----
def test_every_path_is_validated_and_kept_under_the_root(tmp_path: Path) -> None:
    files = Files(tmp_path)
    for sub in ("blobs/sha256", "uploads", "repositories", "tmp"):
        assert (tmp_path / sub).is_dir()
    assert files.repo_dir("team/app") == tmp_path / "repositories" / "team" / "app"
    with pytest.raises(errors.NameInvalid):
        files.repo_dir("../outside")
    with pytest.raises(errors.DigestInvalid):
        files.blob("sha256:../../etc")
    with pytest.raises(errors.TagInvalid):
        files.tag("app", "../x")
    (tmp_path / "repositories" / "app").mkdir()
    os.symlink(tmp_path.parent, tmp_path / "repositories" / "app" / "escape")
    with pytest.raises(errors.NameInvalid):
        files.inside(tmp_path / "repositories" / "app" / "escape")


def test_records_are_written_whole_and_unreadable_ones_read_as_missing(tmp_path: Path) -> None:
    files = Files(tmp_path)
    path = tmp_path / "repositories" / "app" / "rec.json"
    files.write_json(path, {"a": 1})
    assert Files.read_json(path) == {"a": 1}
    assert [p.name for p in path.parent.iterdir()] == ["rec.json"]  # no temp file left
    for text in ("[]", "not json", "null"):
        path.write_text(text)
        assert Files.read_json(path) is None
    assert Files.read_json(tmp_path / "missing.json") is None
    assert Files.entries(tmp_path / "missing") == []


# ---- changes ----
def test_memos_are_bounded_and_generations_count_changes() -> None:
    memo: dict = {}
    for i in range(MEMO_LIMIT + 1):
        remember(memo, i, i)
    assert len(memo) == 1  # started over instead of growing without bound
    changes = Changes()
    assert changes.generation("app") == 0
    changes.changed("app")
    assert (changes.generation("app"), changes.generation("other")) == (1, 0)
    assert changes.lock("app") is changes.lock("app") is not changes.lock("other")


# ---- links, manifests: a memo never outlives a change ----
def test_a_blob_head_answered_from_memory_sees_an_unlink_at_once(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    digest = dg.of_bytes(b"hello")
    s.put_blob("app", digest, [b"hello"])
    assert s.links.size("app", digest) == 5
    assert s.links.size("app", digest) == 5  # from memory
    s.links.unlink("app", digest)
    assert s.links.size("app", digest) is None


def test_a_pull_answered_from_memory_sees_a_moved_tag_at_once(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    v1, v2 = pushed(s, "app", b"one"), pushed(s, "app", b"two")
    s.manifests.put("app", v1, "latest")
    assert s.manifests.get("app", "latest", tags=False).digest == v1.digest
    s.manifests.put("app", v2, "latest")
    assert s.manifests.get("app", "latest", tags=False).digest == v2.digest
    s.manifests.delete_tag("app", "latest")
    assert s.manifests.get("app", "latest", tags=False) is None


def test_images_come_oldest_first_with_their_tags(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    old, new = pushed(s, "app", b"old"), pushed(s, "app", b"new")
    s.manifests.put("app", old, "a", pushed_at=1.0)
    s.manifests.put_tag("app", "b", old.digest)
    s.manifests.put("app", new, None, pushed_at=2.0)
    images = s.manifests.images("app")
    assert [(i.digest, i.tags) for i in images] == [(old.digest, ("a", "b")), (new.digest, ())]
    assert {d: sorted(t) for d, t in s.manifests.tag_map("app").items()} == {
        old.digest: ["a", "b"]}


# ---- records ----
def test_a_repository_exists_once_it_has_a_record(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    assert not s.records.exists("app")
    assert s.records.create("app", {"imageTagMutability": "MUTABLE"})
    assert not s.records.create("app", {"imageTagMutability": "IMMUTABLE"})  # kept as is
    assert s.records.update("app", {"policy": "{}", "imageTagMutability": None}) == {"policy": "{}"}
    assert s.records.exists("app") and s.records.names() == ["app"]
    s.delete_repository("app")
    assert not s.records.exists("app") and s.records.get("app") is None
    assert not (tmp_path / "repositories" / "app").exists()


# ---- collect ----
def test_leftover_temp_files_go_and_nothing_else(tmp_path: Path) -> None:
    s = Storage(tmp_path)
    m = pushed(s, "app")
    s.put_manifest("app", m, "v1")
    stray = s.files.revision("app", m.digest).parent / ".tmp-killed"
    stray.write_bytes(b"half")
    os.utime(stray, (1, 1))
    assert s.collector.leftovers(older_than_seconds=60) == 1
    assert not stray.exists() and s.get_manifest("app", "v1") is not None


# ---- a registry per directory ----
def test_two_stores_share_nothing(tmp_path: Path) -> None:
    """What a registry per (account, region) needs: nothing module-global."""
    a, b = Storage(tmp_path / "a"), Storage(tmp_path / "b")
    m = pushed(a, "app")
    a.create_repository("app", {})
    a.put_manifest("app", m, "v1")
    assert b.get_manifest("app", "v1") is None and not b.has_repository("app")
    assert b.repo_blob_size("app", m.layers[0].digest) is None
    assert json.loads(a.get_manifest("app", "v1").raw) == json.loads(m.raw)
