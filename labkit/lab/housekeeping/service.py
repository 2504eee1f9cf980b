"""The lab's housekeeping: its clock, lifecycle policies applied on a schedule, and garbage
collection of the registry's storage; plus their `/_labkit/` endpoints (`clock`,
`lifecycle/run`, `gc`).

Two daemon threads: the lifecycle runner's schedule (every LABKIT_LIFECYCLE_INTERVAL seconds)
and a collector that removes garbage soon after any deletion (an API or /v2/ delete, an
expiry).  Garbage is also collected once at start.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any

from ..control.lifecycle_runner import (
    LifecycleBackend,
    LifecycleRunner,
    UnknownRepository,
    interval_from_env,
)
from ..registry.storage import Storage
from .account_clocks import AccountClock
from .clock import MOVE_USAGE, ClockError, move

log = logging.getLogger("labkit.lab.housekeeping")
DELETING_ACTIONS = {"BatchDeleteImage", "DeleteRepository"}


def gc_grace() -> float:
    """LABKIT_GC_GRACE: seconds a blob or link must rest unused before it may be collected."""
    try:
        return max(float(os.environ.get("LABKIT_GC_GRACE", "3600")), 0.0)
    except ValueError:
        return 3600.0


class Housekeeping:
    """Runs the lifecycle schedule (over the ECR backend's lifecycle operations) and the
    garbage collector (over the registry's store), by the lab's clock."""

    def __init__(self, clock: AccountClock, storage: Storage, lifecycle: LifecycleBackend):
        self.storage = storage
        self.clock = clock
        self.runner = LifecycleRunner(lifecycle, self.clock.now, interval=interval_from_env(),
                                      after_expiry=self.deleted)
        self.grace = gc_grace()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def observe(self, environ: dict[str, Any], status: str) -> None:
        """Called after each request: a successful deletion schedules garbage collection."""
        if not status.startswith("2"):
            return
        action = environ.get("HTTP_X_AMZ_TARGET", "").rsplit(".", 1)[-1]
        if action in DELETING_ACTIONS or (environ.get("REQUEST_METHOD") == "DELETE"
                                          and environ.get("PATH_INFO", "").startswith("/v2/")):
            self.deleted()

    def deleted(self) -> None:
        """Something was deleted: collect garbage soon (in the background, not in a request)."""
        self._wake.set()

    # ---- the schedule ----

    def start(self) -> None:
        """Collect garbage now, then run the lifecycle schedule and collect after deletes."""
        self.collect_garbage()
        self.runner.start()
        self._thread = threading.Thread(target=self._collector, name="labkit-gc", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.runner.stop()
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)

    def _collector(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.collect_garbage()
            except Exception:  # noqa: BLE001 - the next delete tries again
                log.exception("garbage collection failed")

    def collect_garbage(self) -> int:
        removed = self.storage.garbage_collect(min_age_seconds=self.grace)
        if removed:
            log.info("garbage collection: removed %d blob(s) no image refers to", removed)
        return removed

    # ---- /_labkit/ endpoints ----

    def admin(self, path: str, method: str, body: bytes, query: dict[str, list[str]]
              ) -> tuple[str, Any] | None:
        """(status, JSON document) for a housekeeping endpoint, None for any other path."""
        if path == "/_labkit/clock":
            if method == "GET":
                return "200 OK", self.clock.status()
            if method != "POST":
                return "405 Method Not Allowed", {"error": "GET or POST /_labkit/clock"}
            try:
                move(self.clock, json.loads(body or b"{}"))
            except ClockError as e:
                return "400 Bad Request", {"error": str(e)}
            except ValueError as e:  # not JSON
                return "400 Bad Request", {"error": f"{e}; {MOVE_USAGE}"}
            return "200 OK", self.clock.status()
        if path == "/_labkit/lifecycle/run":
            if method != "POST":
                return "405 Method Not Allowed", {"error": "POST /_labkit/lifecycle/run"}
            repository = (query.get("repository") or [None])[0]
            try:
                results = self.runner.run(repository)
            except UnknownRepository:
                return "404 Not Found", {"error": f"the repository '{repository}' has no "
                                         "lifecycle policy (or does not exist)"}
            return "200 OK", {"now": self.clock.now(),
                              "results": [r.to_dict() for r in results]}
        if path == "/_labkit/gc":
            if method != "POST":
                return "405 Method Not Allowed", {"error": "POST /_labkit/gc"}
            return "200 OK", {"removed": self.collect_garbage()}
        return None
