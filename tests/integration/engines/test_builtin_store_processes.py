"""The built-in engine's store shared by processes: four writers at once lose no reference and
leave no torn index (a real `fork` per writer)."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from labkit.engines.builtin.store import Store
from labkit.oci import digest as dg
from labkit.oci import manifest as mf
from labkit.oci import mediatypes as mt


def _add_refs(home: str, start: int) -> None:
    store = Store(home)
    raw = mf.build(mf.Descriptor(mt.DOCKER_CONFIG, dg.of_bytes(b"{}"), 2), [],
                   media_type=mt.DOCKER_MANIFEST)
    for i in range(start, start + 15):
        store.set_ref(f"r{i}:1", mf.Descriptor(mt.DOCKER_MANIFEST, dg.of_bytes(raw), len(raw)))


def test_concurrent_writers_lose_no_reference(tmp_path: Path) -> None:
    Store(tmp_path)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_add_refs, args=(str(tmp_path), n * 100)) for n in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    names = set(Store(tmp_path).references())
    assert len(names) == 60
    json.loads((tmp_path / "index.json").read_text())  # never torn
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
