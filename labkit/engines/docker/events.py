"""Fold the Docker Engine's streamed push/pull JSON events into per-layer outcomes.

docker names a layer by a 12-hex short id: on push the short *DiffID* (uncompressed), on pull
the short compressed digest. The engine maps those ids to the manifest afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..progress import LayerBar, Progress

PUSH_FINAL = ("Pushed", "Layer already exists", "Mounted from")
PULL_FINAL = ("Pull complete", "Already exists")
_DIGEST = re.compile(r"(?:^|\s)(?:digest|Digest): (sha256:[a-f0-9]{64})")
_TRANSFER = {"Pushing", "Downloading"}
MOVED = {"Pushed", "Pull complete"}  # final states of a layer whose bytes travelled


@dataclass
class LayerTrack:
    """One layer as docker reported it."""

    id: str
    status: str = ""
    current: int = 0
    total: int = 0

    @property
    def final(self) -> bool:
        return self.status.startswith(PUSH_FINAL + PULL_FINAL)


@dataclass
class EventFold:
    """Feed it every event of one push or pull; read layers, digest and error afterwards."""

    progress: Progress = field(default_factory=lambda: Progress(False))
    layers: dict[str, LayerTrack] = field(default_factory=dict)
    digest: str = ""
    error: str = ""
    up_to_date: bool = False
    messages: list[str] = field(default_factory=list)
    _bars: dict[str, LayerBar] = field(default_factory=dict)

    def feed(self, event: dict[str, Any]) -> None:
        if "error" in event or "errorDetail" in event:
            detail = event.get("errorDetail") or {}
            self.error = str(detail.get("message") or event.get("error") or "unknown error")
            return
        aux = event.get("aux")
        if isinstance(aux, dict) and isinstance(aux.get("Digest"), str):
            self.digest = aux["Digest"]
        status = str(event.get("status") or "")
        layer_id = event.get("id")
        if not status:
            return
        if not layer_id or not re.fullmatch(r"[a-f0-9]{12}", str(layer_id)):
            self._message(status)
            return
        track = self.layers.setdefault(layer_id, LayerTrack(layer_id))
        if status in _TRANSFER:
            self._transfer(track, status, event.get("progressDetail") or {})
        elif not track.final or status.startswith(PUSH_FINAL + PULL_FINAL):
            if status == "Extracting":  # its total is the layer's size, like Downloading's
                track.total = max(track.total, int((event.get("progressDetail") or {})
                                                   .get("total") or 0))
            track.status = status
            if status in MOVED and layer_id not in self._bars:
                # a small layer can travel between two progress events (a busy daemon sends
                # none): it moved all the same, so it gets its bar, finished at once
                self._transfer(track, "Pushing" if status == "Pushed" else "Downloading",
                               {"current": track.total, "total": track.total})
                track.status = status
            if track.final and layer_id in self._bars:
                self._bars.pop(layer_id).done(status)

    def _message(self, status: str) -> None:
        self.messages.append(status)
        if m := _DIGEST.search(status):
            self.digest = m.group(1)
        if status.startswith("Status: Image is up to date"):
            self.up_to_date = True

    def _transfer(self, track: LayerTrack, status: str, detail: dict[str, Any]) -> None:
        track.status = status
        current, total = int(detail.get("current") or 0), int(detail.get("total") or 0)
        track.total = max(track.total, total)
        if track.id not in self._bars:
            # push totals are uncompressed sizes while `current` counts the compressed stream,
            # so a push bar counts bytes without a percentage; pull totals are exact
            pushing = status == "Pushing"
            self._bars[track.id] = self.progress.layer(track.id, 0 if pushing else track.total,
                                                       "push" if pushing else "pull")
        bar = self._bars[track.id]
        if current > bar.n:
            bar.update(current - bar.n)
        track.current = max(track.current, current)

    def close(self) -> None:
        """Close bars left open (an error mid-transfer)."""
        for bar in self._bars.values():
            bar.done("stopped")
        self._bars.clear()
