"""Push and pull reports, shared by both engines: each layer's outcome in docker's words.

A report prints as text in a terminal and renders as an HTML table in a notebook.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from ..oci.digest import short

# docker's own words for each outcome
PUSHED = "Pushed"
EXISTS_REMOTE = "Layer already exists"
MOUNTED = "Mounted from"  # followed by the source repository
PULLED = "Pull complete"
EXISTS_LOCAL = "Already exists"


def human_bytes(n: int) -> str:
    """1.2 MB style sizes, in docker's decimal units."""
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"  # pragma: no cover


@dataclass
class LayerOutcome:
    digest: str
    size: int
    status: str  # one of the constants above ("Mounted from hello-app" for a mount)
    moved: int = 0  # bytes that actually crossed the wire for this layer
    kind: str = "layer"  # "layer" or "config"
    diff_id: str = ""  # sha256 of the uncompressed layer (the config's rootfs.diff_ids)

    @property
    def transferred(self) -> bool:
        return self.status in (PUSHED, PULLED)

    def printed_id(self, action: str) -> str:
        """The short ID docker prints for this layer: `docker push` names a layer by its
        DiffID (the UNCOMPRESSED tar's sha256), `docker pull` by the compressed blob's digest,
        which is what the registry stores. "" for a push whose DiffID is unknown."""
        if action == "push":
            return short(self.diff_id) if self.diff_id else ""
        return short(self.digest)


@dataclass
class Step:
    """One protocol request the engine made (for diagrams when the lab's trace is absent)."""

    method: str
    path: str
    status: int
    bytes: int = 0
    note: str = ""


@dataclass
class TransferReport:
    """What a push or a pull did, layer by layer."""

    action: str  # "push" or "pull"
    ref: str
    engine: str
    layers: list[LayerOutcome] = field(default_factory=list)
    digest: str = ""  # manifest digest, what `docker push` prints
    seconds: float = 0.0
    steps: list[Step] = field(default_factory=list)
    command: str = ""  # the equivalent docker CLI command

    @property
    def bytes_moved(self) -> int:
        """Layer bytes that crossed the wire (what the summary compares with total_size)."""
        return sum(x.moved for x in self.layers if x.kind == "layer")

    @property
    def total_size(self) -> int:
        return sum(x.size for x in self.layers if x.kind == "layer")

    def count(self, status: str) -> int:
        return sum(1 for x in self.layers if x.kind == "layer" and x.status.startswith(status))

    def by_status(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for x in self.layers:
            if x.kind == "layer":
                out[x.status] = out.get(x.status, 0) + 1
        return out

    def summary(self) -> str:
        parts = ", ".join(f"{n} {s}" for s, n in self.by_status().items())
        n = sum(1 for x in self.layers if x.kind == "layer")
        return (f"{self.action} {self.ref}: {n} layers ({parts}); "
                f"{human_bytes(self.bytes_moved)} transferred of {human_bytes(self.total_size)}")

    def lines(self) -> list[str]:
        """docker-like lines: `3f4e5a6b7c8d: Pushed  1.2 kB`."""
        out = []
        for x in self.layers:
            if x.kind != "layer":
                continue
            out.append(f"{short(x.digest)}: {x.status:<24} {human_bytes(x.size):>9}")
        if self.digest:
            out.append(f"digest: {self.digest}")
        return out

    def __str__(self) -> str:
        return "\n".join([*self.lines(), self.summary()])

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{short(x.digest)}</code></td><td>{html.escape(x.status)}</td>"
            f"<td style='text-align:right'>{human_bytes(x.size)}</td>"
            f"<td style='text-align:right'>{human_bytes(x.moved)}</td></tr>"
            for x in self.layers if x.kind == "layer")
        digest = f"<p>digest: <code>{html.escape(self.digest)}</code></p>" if self.digest else ""
        return (f"<p><b>{html.escape(self.action)}</b> <code>{html.escape(self.ref)}</code> "
                f"({html.escape(self.engine)} engine)</p>"
                "<table><thead><tr><th>layer</th><th>outcome</th><th>size</th>"
                f"<th>transferred</th></tr></thead><tbody>{rows}</tbody></table>"
                f"{digest}<p>{html.escape(self.summary())}</p>")

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "ref": self.ref, "engine": self.engine,
                "digest": self.digest, "layers": [vars(x) for x in self.layers],
                "bytes_moved": self.bytes_moved}
