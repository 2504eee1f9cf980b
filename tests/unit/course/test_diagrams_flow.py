"""The pull-flow model: which requests belong to a pull, and what each becomes in the diagram."""

from __future__ import annotations

from test_diagrams_data import CONFIG, LAYERS, TraceBuilder, digest, pull_report, realistic_pull

from labkit.course.diagrams import flow, pull_requests
from labkit.trace.record import TraceRecord


def _seqs(records: list[TraceRecord]) -> list[int]:
    return [r.seq for r in records]


def test_pull_requests_picks_the_last_pull_of_the_repository() -> None:
    t = TraceBuilder()
    t.push("hello-app", "v1", [LAYERS[0], CONFIG])  # a push: writes, never a pull
    t.handshake()  # a login: pings only
    t.pull("hello-app", "v1", [CONFIG, LAYERS[0]])  # an older pull
    start = len(t.records)
    t.pull("hello-app", "v2", [CONFIG, LAYERS[2]])  # the one we want
    want = list(range(start + 1, len(t.records) + 1))
    t.pull("other-app", "v1", [digest("x")])  # a later pull of another repository
    assert _seqs(pull_requests(t.records, "hello-app")) == want
    assert len(pull_requests(t.records, "other-app")) == 2 + 1 + 2


def test_pull_requests_drops_interleaved_requests_of_other_clients() -> None:
    t = TraceBuilder()
    t.handshake()
    t.add("GET", "/v2/hello-app/manifests/v2", 200, bytes_out=744)
    t.blob("hello-app", CONFIG, storage=False)
    t.add("GET", "/v2/other/blobs/" + digest("o"), 307,
          location="/_storage/blobs/sha256/" + digest("o")[7:])
    t.storage(digest("o"))  # another client's download
    t.storage(CONFIG)  # ours, after theirs
    picked = pull_requests(t.records, "hello-app")
    assert _seqs(picked) == [1, 2, 3, 4, 7]


def test_pull_requests_is_empty_without_a_pull() -> None:
    t = TraceBuilder()
    t.push("hello-app", "v1", [LAYERS[0]])
    assert pull_requests(t.records, "hello-app") == []
    assert pull_requests(realistic_pull(), "nope") == []


def test_a_client_that_keeps_its_credentials_still_starts_a_new_pull() -> None:
    t = TraceBuilder()
    t.pull("hello-app", "v1", [CONFIG])
    t.add("GET", "/v2/hello-app/manifests/v2", 200, bytes_out=744)  # no new handshake
    t.blob("hello-app", LAYERS[2])
    assert _seqs(pull_requests(t.records, "hello-app")) == [6, 7, 8]


def test_build_names_sections_and_pairs_each_redirect_with_its_download() -> None:
    t = TraceBuilder()
    t.pull("hello-app", "v2", [CONFIG, LAYERS[0]])
    # parallel downloads: both redirects first, then the storage GETs in the other order
    t.blob("hello-app", LAYERS[1], storage=False)
    t.blob("hello-app", LAYERS[2], storage=False)
    t.storage(LAYERS[2])
    t.storage(LAYERS[1])
    records = t.records
    f = flow.build(records, config=CONFIG)
    sections = [x.section for x in f.items]
    assert sections == ["authenticate", "authenticate", "manifest", "config", "layers",
                        "layers", "layers"]
    for item in f.items[3:]:
        request, redirect, get, answer = item.messages
        hx = request.label.split("sha256:")[1][:12]
        assert redirect.label == "307 Temporary Redirect"
        assert hx in get.label and get.dst == "storage"
        assert answer.src == "storage"
    assert f.client == "labkit (builtin engine)"
    assert f.requests == len(records)
    challenge = f.items[0].messages[-1]
    assert challenge.label == "401 Unauthorized" and "WWW-Authenticate: Basic" in challenge.detail


def test_identical_requests_collapse_and_skips_come_last() -> None:
    t = TraceBuilder()
    t.handshake()
    for _ in range(3):
        t.add("HEAD", "/v2/hello-app/manifests/v2", 200)
    t.add("GET", "/v2/hello-app/manifests/v2", 200, bytes_out=744)
    t.blob("hello-app", LAYERS[2])
    f = flow.build(t.records, skipped=[(LAYERS[0], 582), (LAYERS[2], 362)])
    heads = [x for x in f.items if isinstance(x, flow.Exchange)
             and x.messages[0].label.startswith("HEAD")]
    assert len(heads) == 1 and heads[0].count == 3
    assert [s.digest for s in f.skips] == [LAYERS[0]]  # a fetched layer is never "skipped"
    assert isinstance(f.items[-1], flow.Skip)


def test_report_with_steps_puts_back_the_unrecorded_401() -> None:
    f = flow.from_report(pull_report(skipped=(LAYERS[0],)))
    first = f.items[0].messages
    assert first[-1].label == "401 Unauthorized" and "not recorded" in first[-1].detail
    assert f.requests == 2 + 2 * 3  # the implied 401 is not counted as a request
    assert [s.digest for s in f.skips] == [LAYERS[0]]
    assert f.source == "engine report"


def test_report_without_steps_is_rebuilt_from_its_layers() -> None:
    f = flow.from_report(pull_report(skipped=(LAYERS[1],), steps=False))
    blobs = [x for x in f.items if isinstance(x, flow.Exchange) and x.section in
             ("config", "layers")]
    assert [x.section for x in blobs] == ["config", "layers", "layers"]
    assert "/v2/hello-app/manifests/v2" in f.items[2].messages[0].label
    assert [s.digest for s in f.skips] == [LAYERS[1]]


def _docker_like() -> TraceBuilder:
    """docker 20.10: one unauthenticated ping, then Basic straight away on HEAD manifest."""
    t = TraceBuilder(agent="docker/20.10.24 go/go1.19")
    t.add("GET", "/v2/", 401, auth="none", bytes_out=67, challenge="Basic realm=x")
    t.add("HEAD", "/v2/hello-app/manifests/v2", 200)
    t.add("GET", f"/v2/hello-app/manifests/{digest('manifest-v2')}", 200, bytes_out=938)
    t.blob("hello-app", CONFIG)
    t.blob("hello-app", LAYERS[2])
    return t


def test_docker_pattern_shows_the_token_check_on_its_first_authenticated_request() -> None:
    t = _docker_like()
    f = flow.build(t.records, layers=LAYERS)  # the config is the fetched blob that is no layer
    assert f.client == "docker"
    head = f.items[1]
    assert [m.label for m in head.messages] == [
        "HEAD /v2/hello-app/manifests/v2", "verify token (signature, expiry)", "valid", "200 OK"]
    assert [x.section for x in f.items] == ["authenticate", "manifest", "manifest", "config",
                                            "layers"]
    unknown = flow.build(t.records)  # nothing says which blob is the config
    assert [x.section for x in unknown.items][-2:] == ["blobs", "blobs"]


def test_a_later_manifest_read_without_handshake_is_not_taken_for_the_pull() -> None:
    t = _docker_like()
    pulled = _seqs(t.records)
    # the docker engine's report reads the manifest afterwards with plain Basic auth
    t.add("GET", f"/v2/hello-app/manifests/{digest('manifest-v2')}", 200, bytes_out=938)
    assert _seqs(pull_requests(t.records, "hello-app")) == pulled
    lone = TraceBuilder()
    lone.add("GET", "/v2/hello-app/manifests/v2", 200)
    assert _seqs(pull_requests(lone.records, "hello-app")) == [1]
