"""Folding docker's streamed events (recorded from a real Docker Engine 20.10) into outcomes."""

from __future__ import annotations

from labkit.engines.docker.events import EventFold
from labkit.engines.progress import LayerBar, Progress

DIGEST = "sha256:c1c9b4f6f949ef4a17ff7098fdf6900a849fb8401169d3221a09e3d75d3eebb8"

PUSH = [
    {"status": "The push refers to repository [127.0.0.1:5611/probe/app]"},
    {"status": "Preparing", "progressDetail": {}, "id": "9628cad26a6f"},
    {"status": "Preparing", "progressDetail": {}, "id": "31cde9aa07eb"},
    {"status": "Preparing", "progressDetail": {}, "id": "4f024dad7e73"},
    {"status": "Layer already exists", "progressDetail": {}, "id": "4f024dad7e73"},
    {"status": "Mounted from probe/base", "progressDetail": {}, "id": "31cde9aa07eb"},
    {"status": "Pushing", "progressDetail": {"current": 512, "total": 3}, "id": "9628cad26a6f"},
    {"status": "Pushing", "progressDetail": {"current": 2048, "total": 3}, "id": "9628cad26a6f"},
    {"status": "Pushed", "progressDetail": {}, "id": "9628cad26a6f"},
    {"status": f"v1: digest: {DIGEST} size: 943"},
    {"progressDetail": {}, "aux": {"Tag": "v1", "Digest": DIGEST, "Size": 943}},
]

PULL = [
    {"status": "Pulling from probe/app", "id": "v2"},
    {"status": "Already exists", "progressDetail": {}, "id": "3e8c94e6b16a"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "64c6c2b9eede"},
    {"status": "Downloading", "progressDetail": {"current": 113, "total": 113},
     "id": "64c6c2b9eede"},
    {"status": "Verifying Checksum", "progressDetail": {}, "id": "64c6c2b9eede"},
    {"status": "Download complete", "progressDetail": {}, "id": "64c6c2b9eede"},
    {"status": "Extracting", "progressDetail": {"current": 113, "total": 113},
     "id": "64c6c2b9eede"},
    {"status": "Pull complete", "progressDetail": {}, "id": "64c6c2b9eede"},
    {"status": f"Digest: {DIGEST}"},
    {"status": "Status: Downloaded newer image for 127.0.0.1:5611/probe/app:v2"},
]


def fold(events: list[dict]) -> EventFold:
    f = EventFold()
    for e in events:
        f.feed(e)
    f.close()
    return f


def test_push_events() -> None:
    f = fold(PUSH)
    assert {k: v.status for k, v in f.layers.items()} == {
        "9628cad26a6f": "Pushed", "31cde9aa07eb": "Mounted from probe/base",
        "4f024dad7e73": "Layer already exists"}
    assert f.layers["9628cad26a6f"].current == 2048 and f.digest == DIGEST and not f.error


def test_pull_events() -> None:
    f = fold(PULL)
    assert f.layers["3e8c94e6b16a"].status == "Already exists"
    assert f.layers["64c6c2b9eede"].status == "Pull complete"
    assert f.layers["64c6c2b9eede"].total == 113
    assert f.digest == DIGEST and not f.up_to_date and "v2" not in f.layers


def test_up_to_date_and_error() -> None:
    f = fold([{"status": "Pulling from probe/app", "id": "v2"}, {"status": f"Digest: {DIGEST}"},
              {"status": "Status: Image is up to date for 127.0.0.1:5611/probe/app:v2"}])
    assert f.up_to_date and f.layers == {}
    f = fold([*PUSH[:3], {"errorDetail": {"message": "no basic auth credentials"},
                          "error": "no basic auth credentials"}])
    assert f.error == "no basic auth credentials"


class _Recorded(Progress):
    """Progress that keeps each layer's finished line (drawing off, as in a script)."""

    def __init__(self) -> None:
        super().__init__(False)
        self.bars: list[LayerBar] = []

    def layer(self, digest: str, total: int, action: str = "") -> LayerBar:
        bar = super().layer(digest, total, action)
        self.bars.append(bar)
        return bar


def test_a_layer_that_moved_without_progress_events_still_gets_its_bar() -> None:
    """A busy daemon may send no Downloading event for a small layer; it travelled all the
    same, so the pull shows its bar, sized from Extracting."""
    quiet = [e for e in PULL if e.get("status") != "Downloading"]
    progress = _Recorded()
    f = EventFold(progress)
    for e in quiet:
        f.feed(e)
    f.close()
    assert [(b.total, b.n) for b in progress.bars] == [(113, 113)]
    assert f.layers["64c6c2b9eede"].status == "Pull complete"
    progress = _Recorded()
    f = EventFold(progress)
    for e in PULL:  # with its Downloading event: one bar, not two
        f.feed(e)
    f.close()
    assert len(progress.bars) == 1
