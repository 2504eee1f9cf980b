"""The lab's explanation of a learner's last failure, looked up for real: `labkit explain` in a
terminal and, under a failed `%%bash` cell, the course's explainer (registered here into
`labkit.course.failures`, first, so the lab's account wins over guessing from the message).

The explaining itself is `labkit.trace.explain` (pure); this module fills its `Lookups` from the
running lab (the repositories and tags that exist, through the ECR API as labkit, whose own
calls the trace reader leaves out) and from docker's config (the hosts it holds a login for).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from ..trace import reader
from ..trace.explain import Explanation, Lookups, explain
from ..trace.record import TraceRecord
from . import failures


def lookups(target: Any, registry: str, region: str) -> Lookups:
    """Lookups against a running lab through `target` (a labkit.ecr Target, or a function
    that makes one when a look-up first needs it) and docker's config as the command line sees
    it (DOCKER_CONFIG, else ~/.docker)."""
    from ..engines.dockerconfig import DockerConfig

    # made on first use: most explanations ask the ECR API nothing
    get = functools.cache(target) if callable(target) else (lambda: target)

    def repositories() -> list[str]:
        return [r.name for r in get().repositories()]

    def tags(name: str) -> list[str]:
        try:
            return sorted({t for row in get().images(name) for t in row.tags})
        except Exception:  # noqa: BLE001 - the repository is gone too: no tags to list
            return []

    def lifecycle(name: str) -> bool:
        try:
            get().ecr.get_lifecycle_policy(repositoryName=name)
            return True
        except Exception:  # noqa: BLE001 - LifecyclePolicyNotFoundException, or no repository
            return False

    return Lookups(registry, region, repositories, tags, DockerConfig().hosts, lifecycle)


def last(records: list[TraceRecord], look: Lookups, client: str | None = None
         ) -> Explanation | None:
    """The explanation of the last refusal a learner met in `records`, or None."""
    failure = reader.last_failure(records, client=client)
    return explain(failure, look) if failure is not None else None


def for_lab(lab: Any, since: int = 0, client: str | None = None) -> Explanation | None:
    """The last failure in a running lab's trace (after `since`), explained. The ECR client
    (boto3, for the look-ups: the repositories a misspelled name may mean) is made only when
    the explanation asks it something: about 0.3 s of imports `labkit explain` mostly skips."""
    failure = reader.last_failure(lab.trace(since), client=client)
    if failure is None:
        return None

    def target() -> Any:
        from ..ecr.target import connect

        return connect(lab=lab)

    return explain(failure, lookups(target, lab.registry, lab.region))


@dataclass(frozen=True)
class Brief:
    """What a notebook compares after a failed command (the command's cell shows the whole
    `labkit explain`): the refusal, the lab's answer and the fix; none of the parts that
    depend on the engine (which client, which of its requests) or on the machine (times,
    other logins)."""

    explanation: Explanation | None

    def __repr__(self) -> str:
        ex = self.explanation
        if ex is None:
            return ("the lab refused nothing since the mark: the registry did its part, the "
                    "failure happened on this machine")
        return "\n".join([f"refused:  {ex.summary}", f"answered: {ex.answered}",
                          f"fix:      {ex.fix}"])


def brief(course: Any, since: int) -> Brief:
    """The last refusal since `since` in the course's lab, explained briefly (see Brief)."""
    found = last(course.trace(since),
                 lookups(course.target, course.registry, course.target.region))
    return Brief(found)


def from_trace(failure: failures.Failure) -> list[str]:
    """The course's explainer: the lab's last refusal since the cell's mark, explained; nothing
    when the lab refused nothing (a local error: no such image, exec format error), so the
    next explainer (the hints table, from the message) may speak."""
    course = failure.course
    if course is None or failure.since is None or getattr(course, "lab", None) is None:
        return []
    found = last(course.trace(failure.since),
                 lookups(course.target, course.registry, course.target.region))
    return found.lines() if found is not None else []


failures.register(from_trace, first=True)
