"""The instructor's board, derived (labkit/room/board.py), on records a real lab wrote for the
docker CLI, the built-in engine and the AWS CLI (tests/fixtures/trace_real.json), given to two
learners: the lab's own (123456789012) and a second account, both with the same docker (the
same User-Agent, as on a room's identical machines), their requests interleaved."""

from __future__ import annotations

from labkit.room import board
from labkit.trace import reader
from labkit.trace.explain import Lookups, explain
from labkit.trace.record import API, NO_AUTH, REGISTRY_HOST, TraceRecord
from tests.fixtures.trace_scenarios import load

RECORDING = load()
HOME = "123456789012"
OTHER = "210987654321"
ADA = f"arn:aws:iam::{HOME}:user/learner"
BOB = f"arn:aws:iam::{OTHER}:user/admin"
BOB_REGISTRY = "127.0.0.1:5411"
T0 = RECORDING["login"].records[0].time


def act(principal: str, labels: list[str], start: float, seq: int = 1000,
        registry: str | None = None) -> list[TraceRecord]:
    """The records of the recording's steps `labels`, in order, as `principal` made them from
    `start` on: what the lab records today (the caller's ARN on every request that carried
    credentials; a refusal at another account's registry names that registry)."""
    out: list[TraceRecord] = []
    for label in labels:
        first = None
        for r in RECORDING[label].records:
            first = r.time if first is None else first
            copy = TraceRecord.from_dict(r.to_dict())
            copy.time = start + (r.time - first)
            copy.seq = seq + len(out)
            if copy.auth != NO_AUTH:
                copy.principal = principal
            if registry and copy.reason is not None:
                copy.reason.facts[REGISTRY_HOST] = registry
            out.append(copy)
        start = out[-1].time + 5 if out else start
    return out


COURSE = ["login", "push-no-repository", "create", "push-v1", "push-v2", "pull-v1"]


def test_the_steps_of_the_course_each_when_first_done() -> None:
    records = act(ADA, COURSE, T0)
    done = board.steps(records)
    assert set(done) == {"created", "logged_in", "pushed", "reused", "pulled"}
    by = {(r.method, r.route, r.action, r.status, r.reference): r for r in records}
    assert done["created"] == by[("POST", "CreateRepository", "CreateRepository", 200, None)].time
    assert done["logged_in"] == min(r.time for r in records if r.ok and r.action
                                    == "GetAuthorizationToken")
    assert done["pushed"] == by[("PUT", "manifest", "PutImage", 201, "v1")].time
    assert done["reused"] == by[("PUT", "manifest", "PutImage", 201, "v2")].time
    assert done["pulled"] < max(r.time for r in records)
    assert done["pulled"] > done["reused"]


def test_a_first_push_is_not_a_second_version_and_a_refused_one_is_no_push() -> None:
    only_v1 = board.steps(act(ADA, ["login", "create", "push-v1"], T0))
    assert "pushed" in only_v1 and "reused" not in only_v1
    # the immutable repository: v1 pushed as `stable`, then v2 as `stable` refused
    immutable = board.steps(act(ADA, ["login", "push-immutable"], T0))
    assert "pushed" in immutable and "reused" not in immutable


def test_the_same_image_again_is_no_second_version() -> None:
    twice = act(ADA, ["login", "create", "push-v1", "push-v2"], T0)
    again = act(ADA, ["push-v2"], twice[-1].time + 60, seq=5000)
    once = board.steps(twice)
    assert board.steps(twice + again)["reused"] == once["reused"]
    assert "reused" not in board.steps(act(ADA, ["login", "create", "push-v1"], T0)
                                       + act(ADA, ["push-v1"], T0 + 600, seq=5000))


def test_a_second_version_whose_layers_travelled_again_reused_nothing() -> None:
    first = act(ADA, ["login", "create", "push-v1"], T0)
    second = act(ADA, ["push-v2"], first[-1].time + 60, seq=5000)
    assert "reused" in board.steps(first + second)
    found = [r for r in second if r.method == "HEAD" and r.route == "blob" and r.ok]
    shared = found[0]  # a layer v1 brought: sent again, as by a client that asks nothing
    again = TraceRecord.from_dict(dict(shared.to_dict(), seq=6000, method="PUT", route="upload",
                                       action="CompleteLayerUpload", status=201))
    assert "reused" not in board.steps(first + second + [again])
    unasked = [r for r in second if not (r.method == "HEAD" and r.route == "blob" and r.ok
                                         and r.digest != found[-1].digest)]
    assert "reused" not in board.steps(first + unasked)  # nothing found there: nothing reused


def test_cleaned_up_by_a_delete_and_not_by_labkits_own_calls() -> None:
    delete = TraceRecord(seq=9000, time=T0 + 900, kind=API, method="POST", status=200,
                         route="DeleteRepository", action="DeleteRepository", repository="x",
                         client="aws-cli/1.46.3 Python/3.11", auth="sigv4", principal=ADA)
    assert board.steps([delete])["cleaned"] == T0 + 900
    setup = TraceRecord(seq=9001, time=T0 + 901, kind=API, method="POST", status=200,
                        route="CreateRepository", action="CreateRepository", repository="x",
                        client="Boto3/1.34 md/Botocore labkit/0.1.0", auth="sigv4", principal=ADA)
    assert reader.client_name(setup.client) == reader.LABKIT
    assert board.steps([setup]) == {}


def test_two_learners_with_the_same_docker_are_told_apart_by_their_accounts() -> None:
    ada = act(ADA, COURSE, T0)
    # bob starts a little later, at his own registry (its refusals name it), same User-Agent
    bob = act(BOB, ["login", "push-no-repository", "push-no-repository", "push-no-repository"],
              T0 + 0.5, seq=2000, registry=BOB_REGISTRY)
    parts = board.partition(ada + bob, HOME, {BOB_REGISTRY: OTHER})
    assert {r.seq for r in parts[HOME]} == {r.seq for r in ada if r.kind != "storage"}
    assert {r.seq for r in parts[OTHER]} == {r.seq for r in bob}
    assert set(board.steps(parts[OTHER])) == {"logged_in"}
    p = board.progress(parts[OTHER])
    assert p.failure is not None and p.failure.code == "NAME_UNKNOWN"
    assert p.attempts == 3 and not p.resolved  # three pushes, several refused requests each
    assert board.flags(p, p.last_activity or 0, since=T0) == ["stuck: the same failure 3 times"]
    ex = explain(p.failure, Lookups(BOB_REGISTRY, repositories=lambda: ["hello-app"]))
    assert ex.case == "no-repository" and ex.fix.startswith("aws ecr create-repository")


def test_a_challenge_without_a_caller_goes_to_the_next_caller_of_its_client() -> None:
    # the home registry's 401 names no registry: the same client's next request says who
    bob = act(BOB, ["login", "push-no-repository"], T0, seq=2000)
    parts = board.partition(bob, HOME, {})
    assert set(parts) == {OTHER} and len(parts[OTHER]) == len(bob)
    # ... unless nobody came within the window: then it is the lab's own learner's
    late = act(BOB, ["push-no-repository"], T0 + board.CLAIM_WINDOW + 60, seq=3000)
    lone = [r for r in act(BOB, ["login"], T0, seq=2000) if r.auth == NO_AUTH]
    parts = board.partition(lone + late, HOME, {})
    assert [r.seq for r in parts[HOME]] == [r.seq for r in lone]


def test_a_failure_fixed_since_is_resolved_and_not_flagged() -> None:
    records = act(ADA, ["login", "push-no-repository", "push-no-repository",
                        "push-no-repository", "create", "push-v1"], T0)
    p = board.progress(records)
    assert p.failure is not None and p.failure.code == "NAME_UNKNOWN"
    assert p.resolved and p.attempts == 0
    assert board.flags(p, p.last_activity or 0, since=T0) == []


def test_idle_after_the_minutes_given_unless_finished() -> None:
    p = board.progress(act(ADA, ["login"], T0))
    last = p.last_activity or 0
    assert board.flags(p, last + 9 * 60, since=T0, idle_minutes=10) == []
    assert board.flags(p, last + 11 * 60, since=T0, idle_minutes=10) == ["idle: nothing for 11 min"]
    assert board.flags(p, last + 11 * 60, since=T0, idle_minutes=0) == []
    nobody = board.progress([])
    assert nobody.last_activity is None and nobody.failure is None
    assert board.flags(nobody, T0 + 300, since=T0, idle_minutes=4) == ["idle: nothing for 5 min"]
    p.steps["cleaned"] = last
    assert board.flags(p, last + 3600, since=T0, idle_minutes=10) == []


def test_the_boards_explanation_of_a_missing_login_claims_nothing_about_the_learners_machine(
        ) -> None:
    failure = reader.last_failure(act(ADA, ["push-not-logged-in"], T0))
    assert failure is not None
    ex = explain(failure, Lookups("127.0.0.1:5400", logins=None))
    assert ex.case == "not-logged-in"
    assert "docker holds no login for 127.0.0.1:5400" in ex.why[0]
    assert "config" not in ex.why[0]
    assert ex.fix.endswith("docker login --username AWS --password-stdin 127.0.0.1:5400")


def _ping(seq: int, t: float, door: str, principal: str | None = None) -> TraceRecord:
    """A /v2/ ping by the built-in engine (one User-Agent for the whole room) at `door`: the
    401 challenge without credentials, or the retry with them."""
    from labkit.trace.record import BASE, BASIC, REGISTRY, Reason

    return TraceRecord(seq=seq, time=t, kind=REGISTRY, method="GET", path="/v2/", route=BASE,
                       status=200 if principal else 401, client="labkit-builtin/0.1",
                       auth=BASIC if principal else NO_AUTH, principal=principal, door=door,
                       reason=None if principal else Reason("UNAUTHORIZED", "Not Authorized"))


def test_challenges_go_to_whoever_logged_in_at_that_door() -> None:
    """Thirty identical laptops share a User-Agent, not a door: each challenge goes to the
    caller who next logged in at the same door (even another learner's), whoever logged in
    in between elsewhere; one nobody claimed is the door's owner's."""
    a_door, b_door = "127.0.0.1:5501", "127.0.0.1:5502"
    records = [_ping(1, 0.0, a_door), _ping(2, 0.1, b_door), _ping(3, 0.2, b_door, BOB),
               _ping(4, 0.3, a_door, ADA),
               _ping(5, 1.0, a_door), _ping(6, 1.1, a_door, BOB),  # bob at ada's registry
               _ping(7, 2.0, b_door)]  # never followed: the door's owner's
    parts = board.partition(records, HOME, {a_door: HOME, b_door: OTHER})
    assert [r.seq for r in parts[HOME]] == [1, 4]
    assert [r.seq for r in parts[OTHER]] == [2, 3, 5, 6, 7]


def test_a_failure_seen_mid_handshake_goes_once_its_retry_is_recorded() -> None:
    """The board polled between a 401 challenge and its authenticated retry saw a failure;
    once the retry is in the trace, the failure is gone (it is kept only if its record was
    dropped from the trace)."""
    from labkit.lab.server.boardfeed import _sticky

    door = "127.0.0.1:5501"
    challenge = [_ping(1, 0.0, door)]
    before = board.progress(challenge)
    assert before.failure is not None and before.failure.seq == 1
    after = board.progress([*challenge, _ping(2, 0.1, door, ADA)])
    assert after.failure is None
    assert _sticky(after, before, oldest=1).failure is None  # its record is still there
    assert _sticky(after, before, oldest=2).failure is before.failure  # dropped: kept
