"""Applying lifecycle policies: what `evaluate` says expires, is expired.

Real ECR applies a repository's policy "within 24 hours" of an image meeting it; the lab does it
on its own schedule (every LABKIT_LIFECYCLE_INTERVAL seconds, default 60) and on request
(`labkit lab lifecycle run`, `POST /_labkit/lifecycle/run`), so a notebook need not wait.
The runner knows nothing of storage: a backend gives it images and expires digests.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Protocol

from .lifecycle import ImageFacts, LifecyclePolicyError, Verdict, evaluate

log = logging.getLogger("labkit.lab.lifecycle")
DEFAULT_INTERVAL = 60.0


def interval_from_env() -> float:
    """LABKIT_LIFECYCLE_INTERVAL in seconds; 0 turns the schedule off."""
    raw = os.environ.get("LABKIT_LIFECYCLE_INTERVAL", "")
    try:
        value = float(raw) if raw else DEFAULT_INTERVAL
    except ValueError:
        log.warning("LABKIT_LIFECYCLE_INTERVAL=%r is not a number of seconds; using %s",
                    raw, DEFAULT_INTERVAL)
        return DEFAULT_INTERVAL
    return max(value, 0.0)


class LifecycleBackend(Protocol):
    """What the runner needs from the lab's ECR backend."""

    def lifecycle_policies(self) -> dict[str, str]:
        """Repository name -> its stored lifecycle policy text (repositories with one only)."""

    def images_for_lifecycle(self, repository: str) -> list[ImageFacts]:
        """Every image (manifest) of the repository, with its tags and push time."""

    def expire_images(self, repository: str, digests: list[str]) -> None:
        """Delete these images as a lifecycle expiry does (tags, manifest; then /v2/ 404s)."""


@dataclass
class RepositoryRun:
    """What one evaluation of one repository's policy did."""

    repository: str
    expired: list[Verdict] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict:
        return {"repository": self.repository, "error": self.error,
                "expired": [asdict(v) for v in self.expired]}


class UnknownRepository(LookupError):
    """`run(repository=...)` for a repository without a lifecycle policy."""


class LifecycleRunner:
    """Evaluates and applies every stored policy, on request and on a schedule."""

    def __init__(self, backend: LifecycleBackend, clock: Callable[[], float],
                 interval: float | None = None,
                 after_expiry: Callable[[], object] | None = None):
        self.backend = backend
        self.clock = clock
        self.interval = interval_from_env() if interval is None else interval
        self.after_expiry = after_expiry  # e.g. the registry's garbage collection
        self._lock = threading.Lock()  # one run at a time: the schedule and a command
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0

    def run(self, repository: str | None = None) -> list[RepositoryRun]:
        """Apply the policy of `repository` (or of every repository that has one) now."""
        policies = self.backend.lifecycle_policies()
        if repository is not None:
            if repository not in policies:
                raise UnknownRepository(repository)
            policies = {repository: policies[repository]}
        results = []
        with self._lock:
            for name, text in sorted(policies.items()):
                results.append(self._apply(name, text))
            self.runs += 1
        if self.after_expiry is not None and any(r.expired for r in results):
            self.after_expiry()
        return results

    def _apply(self, repository: str, text: str) -> RepositoryRun:
        result = RepositoryRun(repository)
        try:
            verdicts = evaluate(text, self.backend.images_for_lifecycle(repository),
                                self.clock())
        except LifecyclePolicyError as e:  # stored before the lab validated: say, skip
            result.error = e.message
            log.warning("lifecycle: the policy of %s is invalid, skipped: %s", repository,
                        e.message)
            return result
        if verdicts:
            self.backend.expire_images(repository, [v.digest for v in verdicts])
            log.info("lifecycle: %s: expired %d image(s): %s", repository, len(verdicts),
                     ", ".join(",".join(v.tags) or v.digest[:19] for v in verdicts))
        result.expired = verdicts
        return result

    # ---- the schedule ----

    def start(self) -> None:
        """Run every `interval` seconds in a daemon thread (not at all if interval is 0)."""
        if self.interval <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="labkit-lifecycle", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run()
            except Exception:  # noqa: BLE001 - the schedule must outlive one bad run
                log.exception("lifecycle: scheduled run failed")
