"""The figures themselves: lifelines, arrows, labels, stable bytes, notebook-friendliness."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Annotation
from test_diagrams_data import CONFIG, LAYERS, pull_report, push_reports, realistic_pull

from labkit.course import diagrams


def _texts(fig: Figure, gid: str | None = None) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts if gid is None or t.get_gid() == gid]


def _arrows(fig: Figure) -> int:
    return sum(1 for t in fig.axes[0].texts
               if isinstance(t, Annotation) and t.arrow_patch is not None)


def test_pull_flow_from_a_trace() -> None:
    fig = diagrams.pull_flow(realistic_pull(), config=CONFIG)
    assert _texts(fig, "lifeline") == ["client", "registry", "auth", "storage"]
    # two handshakes (request, auth check, verdict, answer) + manifest + 4 blobs via storage
    assert _arrows(fig) == 2 * 4 + 2 + 4 * 4
    labels = _texts(fig, "label")
    assert labels.count("307 Temporary Redirect") == 4
    assert "401 Unauthorized" in labels and "GET /v2/hello-app/manifests/v2" in labels
    assert "200 OK · 1.6 kB" in labels and "200 OK · 362 B" in labels
    assert any("WWW-Authenticate: Basic" in t for t in _texts(fig, "detail"))
    assert _texts(fig, "section") == ["1. authenticate", "2. manifest", "3. config",
                                      "4. layers"]
    assert _texts(fig, "title") == ["pull hello-app:v2"]


def test_pull_flow_shows_skipped_layers_from_the_report() -> None:
    report = pull_report(skipped=(LAYERS[0], LAYERS[1]))
    records = [r for r in realistic_pull() if r.digest not in LAYERS[:2]]
    fig = diagrams.pull_flow(records, report=report, title="v2 after v1")
    skips = _texts(fig, "skip")
    assert len(skips) == 2 and all("already present, skipped" in s for s in skips)
    assert _arrows(fig) == 2 * 4 + 2 + 2 * 4
    assert any(report.digest[7:19] in t for t in _texts(fig, "detail"))  # Docker-Content-Digest


def test_pull_flow_picks_the_pull_out_of_a_longer_trace() -> None:
    from test_diagrams_data import TraceBuilder

    t = TraceBuilder()
    t.push("hello-app", "v2", [LAYERS[2]])
    t.handshake()  # a login
    for rec in realistic_pull():
        t.add(rec.method, rec.path, rec.status, auth=rec.auth, bytes_out=rec.bytes_out,
              location=rec.location, challenge=rec.challenge)
    fig = diagrams.pull_flow(t.records)
    assert _arrows(fig) == 2 * 4 + 2 + 4 * 4


def test_pull_flow_from_report_matches_the_trace_drawing() -> None:
    fig = diagrams.pull_flow_from_report(pull_report())
    assert _texts(fig, "lifeline") == ["client", "registry", "auth", "storage"]
    assert _arrows(fig) == 2 * 4 + 2 + 4 * 4
    assert any("engine report" in t for t in _texts(fig, "legend"))


def test_layer_reuse_marks_shared_and_new_layers() -> None:
    v1, v2 = push_reports()
    fig = diagrams.layer_reuse(v1, v2)
    ax = fig.axes[0]
    assert len([p for p in ax.patches if p.get_gid() == "layer"]) == 8
    assert _arrows(fig) == 2  # one link per shared layer
    assert _texts(fig, "column") == ["v1", "v2"]
    summaries = _texts(fig, "summary")
    assert summaries[0].startswith("push v1: 3 of 3 layers sent, 1.7 kB")
    assert summaries[1].startswith("push v2: 1 of 3 layers sent, 362 B")
    texts = _texts(fig)
    assert texts.count("shared") == 4 and texts.count("new in v2") == 2
    assert texts.count("only in v1") == 2


def test_layer_reuse_adds_what_each_pull_moved() -> None:
    v1, v2 = push_reports()
    pull = pull_report(skipped=(LAYERS[0], LAYERS[1]))
    fig = diagrams.layer_reuse(v1, v2, pull_v2=pull)
    summary = _texts(fig, "summary")[1]
    assert "pull v2: 1 layer downloaded, 2 already present" in summary
    outcomes = _texts(fig, "outcome")
    assert sum("pull: Already exists · 0 B received" in t for t in outcomes) == 2


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_saving_twice_gives_identical_bytes(tmp_path: Path, suffix: str) -> None:
    """No timestamps, versions or random ids in the files: regenerating leaves git clean."""
    v1, v2 = push_reports()
    a = diagrams.save(diagrams.layer_reuse(v1, v2), tmp_path / f"a.{suffix}")
    b = diagrams.save(diagrams.layer_reuse(v1, v2), tmp_path / f"b.{suffix}")
    assert a.read_bytes() == b.read_bytes()
    assert a.stat().st_size > 10_000
    if suffix == "png":
        assert a.read_bytes().startswith(b"\x89PNG") and b"Software" not in a.read_bytes()


def test_figures_are_returned_not_left_open() -> None:
    """A notebook shows a returned figure once; one left in pyplot would show twice."""
    before = plt.get_fignums()
    v1, v2 = push_reports()
    figs = [diagrams.pull_flow(realistic_pull()), diagrams.layer_reuse(v1, v2),
            diagrams.pull_flow_from_report(pull_report()), diagrams.architecture()]
    assert plt.get_fignums() == before
    assert all(isinstance(f, Figure) for f in figs)


def test_figures_command_is_registered() -> None:
    from labkit import cli

    args = cli.build_parser().parse_args(["figures", "--out", "somewhere"])
    assert args.out == "somewhere" and args.func.__module__ == "labkit.cli.figures"


def test_layer_reuse_of_two_pull_reports_speaks_of_bytes_received() -> None:
    v1 = pull_report()
    v1.ref = "127.0.0.1:5400/hello-app:v1"
    v2 = pull_report(skipped=(LAYERS[0], LAYERS[1]))
    fig = diagrams.layer_reuse(v1, v2)
    summaries = _texts(fig, "summary")
    assert summaries[1].startswith("pull v2: 1 of 3 layers received, 362 B")
    assert "pull: Already exists · 0 B received" in _texts(fig, "outcome")


def test_architecture_can_be_drawn_twice() -> None:
    """The package attribute stays the function (a submodule of that name would shadow it)."""
    first, second = diagrams.architecture(), diagrams.architecture()
    assert _texts(first) == _texts(second) and "the lab" in " ".join(_texts(first))
