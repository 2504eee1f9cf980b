"""Garbage collection: what no image refers to goes; what a push in flight uses stays."""

from __future__ import annotations

import os
import threading

from labkit.lab.registry.storage import Storage
from labkit.oci import digest as dg
from labkit.oci import manifest as mf
from labkit.oci import mediatypes as mt

OLD = 1_000_000_000


def blob(storage: Storage, name: str, data: bytes) -> str:
    digest = dg.of_bytes(data)
    storage.put_blob(name, digest, [data])
    return digest


def manifest(storage: Storage, name: str, layer: bytes) -> mf.Manifest:
    config = b'{"os":"linux","architecture":"amd64","x":"%s"}' % layer[:8].hex().encode()
    cd, ld = blob(storage, name, config), blob(storage, name, layer)
    return mf.parse(mf.build(mf.Descriptor(mt.OCI_CONFIG, cd, len(config)),
                             [mf.Descriptor(mt.OCI_LAYER, ld, len(layer))]))


def age(storage: Storage, name: str, digests: list[str]) -> None:
    """Make blobs and their links in `name` look untouched for decades."""
    for d in digests:
        for path in (storage.blob_path(d), storage.root / "repositories" / name / "_layers"
                     / d.removeprefix("sha256:")):
            if path.exists():
                os.utime(path, (OLD, OLD))


def test_layers_of_a_deleted_image_go_shared_ones_stay(tmp_path):
    s = Storage(tmp_path)
    shared = b"shared base layer"
    keep = manifest(s, "app", shared)
    s.put_manifest("app", keep, "1.0")
    doomed_layer = b"only in 2.0"
    gone = manifest(s, "app", doomed_layer)
    s.put_manifest("app", gone, "2.0")
    other = manifest(s, "other", shared)  # same layer in another repository
    s.put_manifest("other", other, "1.0")
    s.delete_manifest("app", gone.digest)
    everything = [keep.digest, gone.digest, other.digest,
                  *(d.digest for m in (keep, gone, other) for d in m.references())]
    age(s, "app", everything)
    age(s, "other", everything)
    assert s.garbage_collect(min_age_seconds=60) == 3  # 2.0's manifest, config and layer
    assert not s.blob_path(dg.of_bytes(doomed_layer)).exists()
    assert s.repo_blob_size("app", dg.of_bytes(doomed_layer)) is None
    assert s.repo_blob_size("app", dg.of_bytes(shared)) == len(shared)
    assert s.get_manifest("app", "1.0").raw == keep.raw
    assert s.get_manifest("other", "1.0").raw == other.raw


def test_a_layer_uploaded_for_a_manifest_not_yet_put_stays(tmp_path):
    s = Storage(tmp_path)
    layer = blob(s, "app", b"pushed, manifest still to come")
    assert s.garbage_collect(min_age_seconds=60) == 0
    assert s.repo_blob_size("app", layer) is not None


def test_a_layer_seen_by_head_during_a_repush_survives(tmp_path):
    """Image deleted long ago, pushed again: HEAD says it exists, GC runs, the manifest lands."""
    s = Storage(tmp_path)
    m = manifest(s, "app", b"old layer")
    s.put_manifest("app", m, "1.0")
    s.delete_manifest("app", m.digest)
    age(s, "app", [d.digest for d in m.references()])
    assert all(s.repo_blob_size("app", d.digest) is not None for d in m.references())  # HEADs
    s.garbage_collect(min_age_seconds=60)
    assert s.missing_references("app", m) == []
    s.put_manifest("app", m, "1.0")


def test_concurrent_pushes_lose_nothing_while_gc_runs(tmp_path):
    s = Storage(tmp_path)
    orphan = blob(s, "scratch", b"orphan")
    s.delete_repository("scratch")
    age(s, "scratch", [orphan])
    stop = threading.Event()
    collected = []
    errors: list[BaseException] = []

    def collector() -> None:
        while not stop.is_set():
            collected.append(s.garbage_collect(min_age_seconds=30))

    def pusher(n: int) -> None:
        try:
            for i in range(15):
                m = manifest(s, f"app{n}", os.urandom(64 * 1024))
                assert s.missing_references(f"app{n}", m) == []
                s.put_manifest(f"app{n}", m, f"v{i}")
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    gc = threading.Thread(target=collector)
    gc.start()
    pushers = [threading.Thread(target=pusher, args=(n,)) for n in range(4)]
    for t in pushers:
        t.start()
    for t in pushers:
        t.join()
    stop.set()
    gc.join()
    assert not errors, errors
    assert not s.blob_path(orphan).exists() and sum(collected) == 1
    for n in range(4):
        for image in s.images(f"app{n}"):
            for d in mf.parse(image.raw).references():
                assert s.blob_path(d.digest).exists()
        assert len(s.images(f"app{n}")) == 15
