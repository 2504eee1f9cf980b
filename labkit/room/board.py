"""The instructor's board, derived: each learner's progress through the course, from the lab's
trace alone (TraceRecords in, one `Progress` per learner out; nothing here asks the lab).

Why from the trace: it is what the lab saw, whichever tool a learner used (the docker CLI, the
built-in engine, the AWS CLI, boto3), in a notebook or a terminal. The rules of what a push, a
pull or a failure is are the trace reader's (labkit.trace.reader), written once; this module
only says which of them make a step of the course:

| step | done when the learner's own requests show |
|---|---|
| `created` | a CreateRepository the lab accepted |
| `logged_in` | a `/v2/` request accepted with credentials, or a GetAuthorizationToken |
| `pushed` | a complete push (its manifest PUT accepted) |
| `reused` | a complete push of a new image to a repository pushed to before, whose blob |
|   | HEADs ("do you have it?") found layers there, none of which travelled again |
| `pulled` | a pull whose manifest the lab served |
| `cleaned` | a DeleteRepository or BatchDeleteImage (an image deleted by API or `/v2/`) |

labkit's own API calls (the course's set-up cells, User-Agent `labkit/...`) do no step: the
board shows what the learner typed. Whose a record is (`partition`) is its caller's account,
from the principal ARN the lab records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..trace import reader
from ..trace import record as rec
from ..trace.record import TraceRecord

STEPS: tuple[tuple[str, str], ...] = (
    ("created", "repository created"),
    ("logged_in", "logged in"),
    ("pushed", "v1 pushed"),
    ("reused", "v2 pushed, layers reused"),
    ("pulled", "pulled"),
    ("cleaned", "cleaned up"),
)
STEP_KEYS = tuple(key for key, _ in STEPS)
CLAIM_WINDOW = 30.0  # seconds: a record without a caller belongs to its client's next caller
DELETES = frozenset({"DeleteRepository", "BatchDeleteImage"})
REPEATS = 3  # the same failure this many times: the learner is flagged as stuck
IDLE_MINUTES = 10.0  # nothing for this long: flagged as idle


def account_of(arn: str | None) -> str | None:
    """The account an ARN names (`arn:aws:iam::123456789012:user/x`, an STS session's)."""
    parts = (arn or "").split(":")
    return parts[4] if len(parts) > 5 and parts[0] == "arn" and parts[4].isdigit() else None


def _port(address: str) -> str:
    return address.rpartition(":")[2]


def partition(records: Iterable[TraceRecord], home_account: str,
              owners: Mapping[str, str] | None = None, storage: bool = False,
              aliases: Mapping[str, str] | None = None) -> dict[str, list[TraceRecord]]:
    """Each account's records, in the order they were made.

    A record names its caller (`principal`) once the lab knows who it is. One that does not
    (the challenge a client meets before it sends credentials, a signature the lab could not
    verify) goes to the next caller of the same client (User-Agent) at the same door (the
    lab's port it came to: which learner's registry) within CLAIM_WINDOW seconds: the login
    that follows a challenge, even another learner's at your registry; learners' tools share
    one User-Agent in a room of identical laptops, but not a door. Else it goes to the
    account whose door it is (`owners`: address -> account), or whose registry the refusal
    names (`registry_host`), else to the lab's own account (`home_account`). Pre-signed
    storage downloads carry no caller and make no step: left out, unless `storage` (a
    learner's own trace, whose pull diagram shows them): then they go with the same client's
    last caller at that door within CLAIM_WINDOW seconds (the download follows the blob GET
    that redirected to it). `aliases` folds an account into another: a learner's second
    account (08's platform team) into the learner's."""
    aliases = aliases or {}
    owners = {address: aliases.get(a, a) for address, a in (owners or {}).items()}
    by_port = {_port(address): account for address, account in owners.items()}
    out: dict[str, list[TraceRecord]] = {}
    waiting: dict[tuple[str, str], list[TraceRecord]] = {}  # (client, door) -> no caller yet

    def unclaimed(w: TraceRecord) -> str:
        """Whose a record no caller claimed is: its door's owner, else the registry's that
        refused it, else the lab's own learner's."""
        host = str(w.reason.facts.get(rec.REGISTRY_HOST) or "") if w.reason else ""
        return by_port.get(_port(w.door)) if w.door and _port(w.door) in by_port else \
            owners.get(host, home_account)

    last: dict[tuple[str, str], tuple[str, float]] = {}  # (client, door) -> caller, when
    for r in reader.ordered(records):
        key = (r.client, _port(r.door))
        if r.kind == rec.STORAGE:
            seen = last.get(key)
            if storage and seen is not None and r.time - seen[1] <= CLAIM_WINDOW:
                out.setdefault(seen[0], []).append(r)
            continue
        account = account_of(r.principal)
        account = aliases.get(account, account) if account is not None else None
        if account is None:
            waiting.setdefault(key, []).append(r)
            continue
        for w in waiting.pop(key, []):
            owner = account if r.time - w.time <= CLAIM_WINDOW else unclaimed(w)
            out.setdefault(owner, []).append(w)
        out.setdefault(account, []).append(r)
        last[key] = (account, r.time)
    for left in waiting.values():
        for w in left:
            out.setdefault(unclaimed(w), []).append(w)
    return {a: reader.ordered(rs) for a, rs in out.items()}


def _own(records: Iterable[TraceRecord]) -> list[TraceRecord]:
    """The learner's requests: labkit's own API calls (the course's set-up) left out."""
    return [r for r in records
            if not (r.kind == rec.API and reader.client_name(r.client) == reader.LABKIT)]


def _reused(push: reader.Push) -> bool:
    """Layers the registry already had (a blob HEAD answered 200, or a mount), none sent again."""
    there = {d for d, had in push.checked.items() if had}
    return bool(there or push.mounted) and not there & set(push.uploaded)


def _pushed_at(push: reader.Push) -> float:
    return next((r.time for r in reversed(push.manifest_puts) if r.ok), push.records[-1].time)


def steps(records: Iterable[TraceRecord]) -> dict[str, float]:
    """Step -> when the learner first did it (epoch seconds), for the steps done (see the
    module's table)."""
    own = reader.ordered(_own(records))
    done: dict[str, float] = {}

    def mark(step: str, when: float) -> None:
        done[step] = min(when, done.get(step, when))

    for r in own:
        if not r.ok:
            continue
        if r.kind == rec.API and r.action == "CreateRepository":
            mark("created", r.time)
        if (r.kind == rec.REGISTRY and r.auth != rec.NO_AUTH) or (
                r.kind == rec.API and r.action == "GetAuthorizationToken"):
            mark("logged_in", r.time)
        if r.action in DELETES:
            mark("cleaned", r.time)
    images: dict[str, set[str]] = {}  # repository -> digests pushed to it so far
    for push in reader.pushes(own):
        if not push.complete:
            continue
        when = _pushed_at(push)
        mark("pushed", when)
        earlier = images.setdefault(push.repository, set())
        if earlier and push.digest not in earlier and _reused(push):
            mark("reused", when)
        earlier.add(push.digest)
    for pull in reader.pulls(own):
        served = [r for r in pull.manifest_reads if r.ok]
        if served:
            mark("pulled", served[0].time)
    return done


def _signature(f: reader.Failure) -> tuple[Any, ...]:
    """What makes two failures "the same": the lab's answer, for the same repository (a push
    of v1 and one of v2 to a missing repository are one mistake)."""
    return (f.kind, f.code or f.status, f.repository, f.facts.get(rec.AUTHORIZATION))


def _what(r: TraceRecord | reader.Failure) -> tuple[Any, ...]:
    return (r.kind, r.action, r.repository)


@dataclass
class Progress:
    """One learner's row: the steps done, their last failure, and how often they met it."""

    steps: dict[str, float] = field(default_factory=dict)
    last_activity: float | None = None
    failure: reader.Failure | None = None  # the last refusal they met
    attempts: int = 0  # tries (client sessions, API calls) that met it since it was resolved
    resolved: bool = False  # the same request (kind, action, repository) succeeded since
    requests: int = 0


def progress(records: Sequence[TraceRecord]) -> Progress:
    """One learner's progress, from their records (`partition`)."""
    records = reader.ordered(records)
    out = Progress(steps(records), records[-1].time if records else None,
                   requests=len(records))
    met = reader.failures(records)
    if not met:
        return out
    failure = met[-1]  # what reader.last_failure gives
    out.failure = failure
    successes = [r for r in records if r.ok and _what(r) == _what(failure)]
    resolved_at = (successes[-1].time, successes[-1].seq) if successes else (0.0, 0)
    out.resolved = resolved_at > (failure.time, failure.seq)
    # a try is a client session (one `docker push` meets a missing repository in several
    # requests) or one API call
    session_of = {r.seq: i for i, s in enumerate(reader.sessions(records)) for r in s}
    tries = {session_of.get(f.seq, -f.seq) if f.kind != rec.API else -f.seq
             for f in met if _signature(f) == _signature(failure) and (f.time, f.seq) > resolved_at}
    out.attempts = len(tries)
    return out


def flags(p: Progress, now: float, *, since: float, idle_minutes: float = IDLE_MINUTES,
          repeats: int = REPEATS) -> list[str]:
    """Why the instructor should look at this learner: the same failure `repeats` times (and
    not resolved since), or nothing for `idle_minutes` (counted from `since`, the lab's start,
    for a learner not seen yet) unless they finished the course."""
    out = []
    if p.failure is not None and not p.resolved and p.attempts >= repeats:
        out.append(f"stuck: the same failure {p.attempts} times")
    quiet = now - (p.last_activity if p.last_activity is not None else since)
    if idle_minutes > 0 and quiet >= idle_minutes * 60 and "cleaned" not in p.steps:
        out.append(f"idle: nothing for {int(quiet // 60)} min")
    return out

