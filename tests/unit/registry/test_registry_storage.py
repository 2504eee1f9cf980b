"""Storage on its own: layout, validation, atomicity, restarts, the control plane's calls."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.lab.registry import errors
from labkit.lab.registry.names import is_name, is_tag
from labkit.lab.registry.storage import Storage
from labkit.oci import digest as dg
from labkit.oci import manifest as mf
from labkit.oci import mediatypes as mt


def blob(storage: Storage, name: str, data: bytes) -> str:
    digest = dg.of_bytes(data)
    storage.put_blob(name, digest, [data])
    return digest


def image(storage: Storage, name: str, layer: bytes = b"layer") -> mf.Manifest:
    config = b'{"os":"linux","architecture":"amd64"}'
    cd, ld = blob(storage, name, config), blob(storage, name, layer)
    raw = mf.build(mf.Descriptor(mt.OCI_CONFIG, cd, len(config)),
                   [mf.Descriptor(mt.OCI_LAYER, ld, len(layer))])
    return mf.parse(raw)


def test_layout_is_content_addressed_and_linked_per_repository(tmp_path):
    s = Storage(tmp_path)
    digest = blob(s, "team/app", b"hello")
    hexd = digest[7:]
    assert (tmp_path / "blobs/sha256" / hexd[:2] / hexd).read_bytes() == b"hello"
    assert (tmp_path / "repositories/team/app/_layers" / hexd).exists()
    assert s.repo_blob_size("team/app", digest) == 5
    assert s.repo_blob_size("other", digest) is None
    assert s.blob_path(digest) == tmp_path / "blobs/sha256" / hexd[:2] / hexd


def test_upload_survives_a_restart_by_rehashing(tmp_path):
    s = Storage(tmp_path)
    uid = s.start_upload("app")
    s.append_upload("app", uid, [b"first half "])
    restarted = Storage(tmp_path)  # a new process: no hash state in memory
    assert restarted.upload_offset("app", uid) == len(b"first half ")
    restarted.append_upload("app", uid, [b"second half"], start=len(b"first half "))
    digest = dg.of_bytes(b"first half second half")
    restarted.finish_upload("app", uid, digest)
    assert restarted.blob_path(digest).read_bytes() == b"first half second half"


def test_cleanup_uploads_removes_only_stale_leftovers(tmp_path):
    s = Storage(tmp_path)
    stale = s.start_upload("app")
    s.append_upload("app", stale, [b"x"])
    old = 1_000_000_000
    for p in [tmp_path / "uploads" / stale, *(tmp_path / "uploads" / stale).iterdir()]:
        os.utime(p, (old, old))
    fresh_storage = Storage(tmp_path)  # after a restart nothing is active
    recent = fresh_storage.start_upload("app")
    assert fresh_storage.cleanup_uploads(3600) == 1
    assert not (tmp_path / "uploads" / stale).exists()
    assert fresh_storage.upload_offset("app", recent) == 0


def test_failed_chunk_rolls_back_file_and_hash(tmp_path):
    s = Storage(tmp_path)
    uid = s.start_upload("app")
    s.append_upload("app", uid, [b"keep"])

    def broken():
        yield b"lost"
        raise errors.SizeInvalid("client went away")

    with pytest.raises(errors.SizeInvalid):
        s.append_upload("app", uid, broken())
    assert s.upload_offset("app", uid) == 4
    assert (tmp_path / "uploads" / uid / "data").read_bytes() == b"keep"
    s.finish_upload("app", uid, dg.of_bytes(b"keep"))


def test_concurrent_same_blob_commits(tmp_path):
    s = Storage(tmp_path)
    data = os.urandom(2_000_000)
    digest = dg.of_bytes(data)
    outcomes: list[object] = []

    def push(name: str) -> None:
        try:
            outcomes.append(s.put_blob(name, digest, [data[:10], data[10:]]))
        except Exception as e:  # noqa: BLE001 - recorded for the assertion
            outcomes.append(e)

    threads = [threading.Thread(target=push, args=(n,)) for n in ["a1", "a1", "b1", "b1"] * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == [len(data)] * 8
    assert os.listdir(s.blob_path(digest).parent) == [digest[7:]]
    assert dg.of_file(str(s.blob_path(digest))) == digest


def test_manifests_tags_and_images(tmp_path):
    s = Storage(tmp_path)
    m1, m2 = image(s, "app", b"one"), image(s, "app", b"two")
    assert s.missing_references("app", m1) == []
    assert s.missing_references("other", m1) == [m1.config.digest, m1.layers[0].digest]
    s.put_manifest("app", m1, "1.0", pushed_at=100.0)
    s.put_manifest("app", m2, "latest", pushed_at=200.0)
    s.put_tag("app", "stable", m1.digest)
    got = s.get_manifest("app", "stable")
    assert got is not None and got.raw == m1.raw and got.tags == ("1.0", "stable")
    assert got.pushed_at == 100.0 and got.media_type == mt.OCI_MANIFEST
    assert [(i.digest, i.tags) for i in s.images("app")] == [
        (m1.digest, ("1.0", "stable")), (m2.digest, ("latest",))]
    assert mf.parse(s.images("app")[0].raw).layers_size == 3
    assert s.tags("app") == ["1.0", "latest", "stable"]
    assert s.delete_tag("app", "stable") and not s.delete_tag("app", "stable")
    assert s.delete_manifest("app", m1.digest) == ["1.0"]
    assert s.get_manifest("app", "1.0") is None
    assert s.delete_manifest("app", m1.digest) is None
    with pytest.raises(errors.ManifestUnknown):
        s.put_tag("app", "x", m1.digest)


def test_immutable_tag_is_kept(tmp_path):
    s = Storage(tmp_path)
    m1, m2 = image(s, "app", b"one"), image(s, "app", b"two")
    s.put_manifest("app", m1, "1.0", immutable=True)
    with pytest.raises(errors.TagInvalid):
        s.put_manifest("app", m2, "1.0", immutable=True)
    assert s.get_manifest("app", "1.0").digest == m1.digest


def test_index_references_are_manifests_of_the_repository(tmp_path):
    s = Storage(tmp_path)
    child = image(s, "app")
    index = mf.parse(mf.canonical_json({"schemaVersion": 2, "mediaType": mt.OCI_INDEX,
                                        "manifests": [{"mediaType": mt.OCI_MANIFEST,
                                                       "digest": child.digest,
                                                       "size": len(child.raw)}]}))
    assert s.missing_references("app", index) == [child.digest]
    s.put_manifest("app", child)
    assert s.missing_references("app", index) == []


def test_delete_repository_keeps_nested_repositories(tmp_path):
    s = Storage(tmp_path)
    blob(s, "team", b"a")
    blob(s, "team/app", b"b")
    uid = s.start_upload("team")
    assert s.repositories() == ["team", "team/app"]
    s.delete_repository("team")
    assert s.repositories() == ["team/app"]
    with pytest.raises(errors.BlobUploadUnknown):
        s.upload_offset("team", uid)
    s.delete_repository("team/app")
    assert s.repositories() == []
    assert list((tmp_path / "repositories").iterdir()) == []


def test_state_survives_a_restart(tmp_path):
    s = Storage(tmp_path)
    m = image(s, "app")
    s.put_manifest("app", m, "1.0", pushed_at=123.0)
    again = Storage(tmp_path)
    got = again.get_manifest("app", "1.0")
    assert got is not None and got.digest == m.digest and got.pushed_at == 123.0
    assert again.repositories() == ["app"]


@pytest.mark.parametrize("bad", ["../x", "x/../../y", "/abs", "A", "a" * 300, "a/", ""])
def test_bad_names_never_become_paths(tmp_path, bad):
    s = Storage(tmp_path)
    with pytest.raises(errors.NameInvalid):
        s.start_upload(bad)
    with pytest.raises(errors.NameInvalid):
        s.tags(bad)


@pytest.mark.parametrize("bad", ["../../x", ".hidden", "a/b", "", "t" * 129])
def test_bad_tags_never_become_paths(tmp_path, bad):
    s = Storage(tmp_path)
    m = image(s, "app")
    with pytest.raises(errors.TagInvalid):
        s.put_manifest("app", m, bad)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abz09._-/A%\\\x00 ", max_size=40))
def test_any_accepted_name_stays_under_root(tmp_path_factory, name):
    root = tmp_path_factory.getbasetemp() / "namecheck"
    if is_name(name):
        path = (root / "repositories" / name).resolve()
        assert root.resolve() / "repositories" in path.parents
        assert ".." not in Path(name).parts


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=140))
def test_any_accepted_tag_is_one_safe_component(tag):
    if is_tag(tag):
        assert "/" not in tag and not tag.startswith(".") and "\x00" not in tag


def test_upload_info_records_the_repository(tmp_path):
    s = Storage(tmp_path)
    uid = s.start_upload("app")
    info = json.loads((tmp_path / "uploads" / uid / "info").read_text())
    assert info["name"] == "app"
    with pytest.raises(errors.BlobUploadUnknown):
        s.upload_offset("other", uid)


def test_large_stream_is_hashed_once(tmp_path):
    """The pipelined path (no Content-Length) gives the same digest as hashlib."""
    s = Storage(tmp_path)

    class Body:
        expected = None

        def __init__(self, data: bytes):
            self.view, self.pos = memoryview(data), 0

        def readinto(self, buf: memoryview) -> int:
            n = min(len(buf), len(self.view) - self.pos)
            buf[:n] = self.view[self.pos:self.pos + n]
            self.pos += n
            return n

    data = os.urandom(9 * 1024 * 1024 + 3)
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    assert s.put_blob("app", digest, Body(data)) == len(data)
    assert s.blob_path(digest).read_bytes() == data


def test_garbage_collect_removes_only_unlinked_old_blobs(tmp_path):
    s = Storage(tmp_path)
    m = image(s, "app", b"kept")
    s.put_manifest("app", m, "1.0")
    gone = blob(s, "tmp-repo", b"orphan")
    young = blob(s, "tmp-repo", b"young orphan")
    s.delete_repository("tmp-repo")
    old = 1_000_000_000
    for d in (gone, m.digest, m.layers[0].digest, m.config.digest):
        os.utime(s.blob_path(d), (old, old))
    assert s.garbage_collect(min_age_seconds=3600) == 1
    assert not s.blob_path(gone).exists() and s.blob_path(young).exists()
    assert s.get_manifest("app", "1.0").raw == m.raw
    assert s.repo_blob_size("app", m.layers[0].digest) == 4
    s.delete_manifest("app", m.digest)
    assert s.repo_blob_size("app", m.digest) is None
    assert s.garbage_collect(min_age_seconds=3600) == 1  # the manifest's own bytes


# ---- the hot-path memory: a pull answered from memory is never stale ----

def test_a_pull_sees_every_change_to_the_tag_it_names(tmp_path):
    """The tag -> manifest memo of a pull (get_manifest(tags=False)) follows each write."""
    s = Storage(tmp_path)
    v1, v2 = image(s, "app", b"one"), image(s, "app", b"two")
    s.put_manifest("app", v1, tag="latest")
    assert s.get_manifest("app", "latest", tags=False).digest == v1.digest
    s.put_manifest("app", v2, tag="latest")  # the tag moves (05b's lesson)
    assert s.get_manifest("app", "latest", tags=False).digest == v2.digest
    s.put_tag("app", "latest", v1.digest)
    assert s.get_manifest("app", "latest", tags=False).digest == v1.digest
    s.delete_tag("app", "latest")
    assert s.get_manifest("app", "latest", tags=False) is None
    s.put_tag("app", "latest", v1.digest)
    s.delete_manifest("app", v1.digest)
    assert s.get_manifest("app", "latest", tags=False) is None
    assert s.get_manifest("app", v1.digest, tags=False) is None
    s.put_manifest("app", v2, tag="stable")
    s.create_repository("app", {"name": "app"})
    assert s.has_repository("app")
    s.delete_repository("app")
    assert s.get_manifest("app", "stable", tags=False) is None
    assert not s.has_repository("app")


def test_a_blob_head_sees_every_unlink_of_the_layer_it_names(tmp_path):
    """The size memo of a blob HEAD (repo_blob_size) follows each removal of the layer's link:
    a DELETE of the blob, garbage collection of a deleted image's layers, a deleted repository;
    and another repository never sees a blob it was not given."""
    s = Storage(tmp_path)
    layer = blob(s, "app", b"the layer")
    assert s.repo_blob_size("app", layer) == len(b"the layer")
    assert s.repo_blob_size("other", layer) is None
    assert s.repo_blob_size("app", layer) == len(b"the layer")  # from the memo
    assert s.unlink_blob("app", layer)
    assert s.repo_blob_size("app", layer) is None
    s.link_blob("app", layer)
    assert s.repo_blob_size("app", layer) == len(b"the layer")
    s.garbage_collect(min_age_seconds=-1)  # no image refers to it: its link goes
    assert s.repo_blob_size("app", layer) is None
    m = image(s, "app", b"kept")
    s.put_manifest("app", m, tag="v1")
    kept = m.layers[0].digest
    assert s.repo_blob_size("app", kept) == len(b"kept")
    s.delete_repository("app")
    assert s.repo_blob_size("app", kept) is None


def test_pull_time_is_written_at_most_once_a_second(tmp_path):
    """ECR's lastRecordedPullTime: a burst of pulls is one write; a later pull moves it, and a
    deleted and re-pushed image starts without one."""
    s = Storage(tmp_path)
    m = image(s, "app")
    s.put_manifest("app", m, tag="1.0")
    s.record_pull("app", m.digest, when=1000.0)
    s.record_pull("app", m.digest, when=1000.5)
    assert s.get_manifest("app", "1.0").last_pull == 1000.0
    s.record_pull("app", m.digest, when=1001.5)
    assert s.get_manifest("app", "1.0").last_pull == 1001.5
    s.delete_manifest("app", m.digest)
    s.put_manifest("app", m, tag="1.0")
    assert s.get_manifest("app", "1.0").last_pull is None
    s.record_pull("app", m.digest, when=1001.6)
    assert s.get_manifest("app", "1.0").last_pull == 1001.6


def test_pull_times_outlive_the_process_and_change_nothing_a_pull_reads(tmp_path):
    """A pull time is on disk once recorded (a new Storage on the same root, as after a
    restart, reads it), a pull does not change the repository's generation (the pull memo and
    the blob-size memo of every other image stay valid), and a memoized pull answer still
    carries the latest time."""
    s = Storage(tmp_path)
    m = image(s, "app")
    s.put_manifest("app", m, tag="1.0")
    assert s.get_manifest("app", "1.0", tags=False).last_pull is None
    generation = s.changes.generation("app")
    s.record_pull("app", m.digest, when=2000.0)
    assert s.changes.generation("app") == generation
    assert s.get_manifest("app", "1.0", tags=False).last_pull == 2000.0
    assert s.images("app")[0].last_pull == 2000.0
    again = Storage(tmp_path)
    again.garbage_collect(min_age_seconds=-1)  # lists images under the repository's lock
    assert again.get_manifest("app", "1.0").last_pull == 2000.0
    again.delete_manifest("app", m.digest)
    again.put_manifest("app", m, tag="1.0")
    assert Storage(tmp_path).get_manifest("app", "1.0").last_pull is None


def test_a_torn_pull_log_line_is_skipped_and_an_old_record_still_counts(tmp_path):
    """A crash mid-append leaves a torn last line: it is skipped, the lines before it count.
    A revision record written before the pull log existed keeps its `last_pull`."""
    s = Storage(tmp_path)
    m, old = image(s, "app"), image(s, "app", b"older")
    s.put_manifest("app", m, tag="1.0")
    s.put_manifest("app", old, tag="0.9")
    s.record_pull("app", m.digest, when=3000.0)
    log = s.files.pull_log("app")
    with open(log, "ab") as f:
        f.write(m.digest.removeprefix("sha256:").encode() + b" 30")  # no newline: torn
    revision = s.files.revision("app", old.digest)
    revision.write_text(json.dumps({**json.loads(revision.read_text()), "last_pull": 100.0}))
    again = Storage(tmp_path)
    assert again.get_manifest("app", "1.0").last_pull == 3000.0
    assert again.get_manifest("app", "0.9").last_pull == 100.0
    again.record_pull("app", old.digest, when=3001.0)
    assert Storage(tmp_path).get_manifest("app", "0.9").last_pull == 3001.0


def test_a_long_pull_log_is_folded_to_a_line_per_image(tmp_path, monkeypatch):
    from labkit.lab.registry.store import pulls
    monkeypatch.setattr(pulls, "FOLD_BYTES", 1000)
    s = Storage(tmp_path)
    m, gone = image(s, "app"), image(s, "app", b"deleted")
    s.put_manifest("app", m, tag="1.0")
    s.put_manifest("app", gone, tag="0.1")
    s.record_pull("app", gone.digest, when=1.0)
    s.delete_manifest("app", gone.digest)
    s = Storage(tmp_path)  # tables and sizes read anew: the limit above applies
    for i in range(40):
        s.record_pull("app", m.digest, when=10.0 + 2 * i)
    log = s.files.pull_log("app")
    assert log.stat().st_size < 1000
    lines = log.read_text().splitlines()
    assert len(lines) < 40 and gone.digest.removeprefix("sha256:") not in log.read_text()
    assert Storage(tmp_path).get_manifest("app", "1.0").last_pull == 10.0 + 2 * 39
