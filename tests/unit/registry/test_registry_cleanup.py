"""Start-up cleanup: what a SIGKILLed lab leaves behind goes, what was stored stays."""

from __future__ import annotations

import os
import time

from labkit.lab.registry.storage import Storage


def test_cleanup_removes_stale_temp_files_and_sessions_but_keeps_data(tmp_path) -> None:
    storage = Storage(tmp_path / "registry")
    digest = storage.put_bytes(b"kept")
    storage.link_blob("a/b", digest)
    upload = storage.start_upload("a/b")
    storage.append_upload("a/b", upload, [b"partial"])
    # what a kill between write and os.replace leaves: temp files next to revisions and blobs
    stale = [storage.root / "repositories/a/b/_manifests/revisions/.tmp-dead",
             storage.blob_path(digest).parent / ".tmp-dead"]
    fresh = storage.root / "repositories/a/b/_layers/.tmp-inflight"
    for p in [*stale, fresh]:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    old = time.time() - 3600
    for p in stale:
        os.utime(p, (old, old))

    restarted = Storage(tmp_path / "registry")  # a new process: no live sessions
    assert restarted.cleanup_uploads(older_than_seconds=600) == 2
    assert all(not p.exists() for p in stale)
    assert fresh.exists()  # young: may belong to a request in flight
    assert restarted.cleanup_uploads(older_than_seconds=0) >= 2  # the session and `fresh`
    assert not fresh.exists() and not list((storage.root / "uploads").iterdir())
    assert restarted.blob_path(digest).read_bytes() == b"kept"
    assert restarted.repo_blob_size("a/b", digest) == 4
