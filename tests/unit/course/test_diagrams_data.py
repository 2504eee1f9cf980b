"""Synthetic lab traces and reports for the diagram tests (helpers only, no tests here)."""

from __future__ import annotations

import hashlib

from labkit.engines.report import (
    EXISTS_LOCAL,
    EXISTS_REMOTE,
    PULLED,
    PUSHED,
    LayerOutcome,
    Step,
    TransferReport,
)
from labkit.oci import routes
from labkit.trace.record import TraceRecord

CHALLENGE = 'Basic realm="http://127.0.0.1:5400/",service="ecr.amazonaws.com"'


def digest(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


CONFIG = digest("config-v2")
LAYERS = [digest("base-1"), digest("base-2"), digest("app-v2")]
SIZES = {CONFIG: 1598, LAYERS[0]: 582, LAYERS[1]: 807, LAYERS[2]: 362}


class TraceBuilder:
    """Appends records with increasing seq, described as the lab's router describes a request
    (labkit.oci.routes: route, repository, reference, digest), as `labkit.lab.trace` does."""

    def __init__(self, agent: str = "labkit-builtin/0.1"):
        self.records: list[TraceRecord] = []
        self.agent = agent

    def add(self, method: str, path: str, status: int, *, auth: str = "basic", bytes_in: int = 0,
            bytes_out: int = 0, location: str | None = None, challenge: str | None = None
            ) -> TraceRecord:
        m = routes.match(path)
        rec = TraceRecord(seq=len(self.records) + 1, time=1000.0 + len(self.records),
                          duration=0.001, kind="storage" if m and m.route == "storage"
                          else "registry", method=method, path=path, status=status,
                          bytes_in=bytes_in, bytes_out=bytes_out, client=self.agent,
                          auth="presigned" if m and m.route == "storage" else auth,
                          route=m.route if m else None, repository=m.name if m else None,
                          reference=m.reference if m else None, digest=m.digest if m else None,
                          location=location, challenge=challenge)
        self.records.append(rec)
        return rec

    def handshake(self) -> None:
        self.add("GET", "/v2/", 401, auth="none", bytes_out=67, challenge=CHALLENGE)
        self.add("GET", "/v2/", 200, bytes_out=2)

    def blob(self, repo: str, d: str, storage: bool = True) -> None:
        hx = d.split(":", 1)[1]
        self.add("GET", f"/v2/{repo}/blobs/{d}", 307,
                 location=f"http://127.0.0.1:5400/_storage/blobs/sha256/{hx}")
        if storage:
            self.storage(d)

    def storage(self, d: str) -> None:
        hx = d.split(":", 1)[1]
        self.add("GET", f"/_storage/blobs/sha256/{hx}", 200, auth="presigned",
                 bytes_out=SIZES.get(d, 100))

    def pull(self, repo: str, tag: str, blobs: list[str]) -> None:
        self.handshake()
        self.add("GET", f"/v2/{repo}/manifests/{tag}", 200, bytes_out=744)
        for d in blobs:
            self.blob(repo, d)

    def push(self, repo: str, tag: str, blobs: list[str]) -> None:
        self.handshake()
        for d in blobs:
            self.add("HEAD", f"/v2/{repo}/blobs/{d}", 404)
            self.add("POST", f"/v2/{repo}/blobs/uploads/", 202)
            self.add("PATCH", f"/v2/{repo}/blobs/uploads/u1", 202, bytes_in=SIZES.get(d, 1))
            self.add("PUT", f"/v2/{repo}/blobs/uploads/u1", 201)
        self.add("PUT", f"/v2/{repo}/manifests/{tag}", 201, bytes_in=744)


def realistic_pull() -> list[TraceRecord]:
    """401, 200, manifest 200, config 307+200, three layers 307+200."""
    t = TraceBuilder()
    t.pull("hello-app", "v2", [CONFIG, *LAYERS])
    return t.records


def pull_report(skipped: tuple[str, ...] = (), steps: bool = True) -> TransferReport:
    layers = [LayerOutcome(d, SIZES[d], EXISTS_LOCAL if d in skipped else PULLED,
                           0 if d in skipped else SIZES[d]) for d in LAYERS]
    layers.append(LayerOutcome(CONFIG, SIZES[CONFIG], PULLED, SIZES[CONFIG], "config"))
    report = TransferReport("pull", "127.0.0.1:5400/hello-app:v2", "builtin", layers,
                            digest=digest("manifest-v2"))
    if steps:
        report.steps = [Step("GET", "/v2/", 200, 2), Step("GET", "/v2/hello-app/manifests/v2",
                                                           200, 744, "v2")]
        for d in [CONFIG, *LAYERS]:
            if d in skipped:
                continue
            hx = d.split(":", 1)[1]
            report.steps += [Step("GET", f"/v2/hello-app/blobs/{d}", 307, 0, hx[:12]),
                             Step("GET", f"/_storage/blobs/sha256/{hx}", 200, SIZES[d],
                                  "redirected (storage)")]
    return report


def push_reports() -> tuple[TransferReport, TransferReport]:
    """v1 pushes base-1, base-2, app-v1; v2 reuses the two base layers."""
    app1 = digest("app-v1")
    v1 = TransferReport("push", "127.0.0.1:5400/hello-app:v1", "builtin", [
        LayerOutcome(LAYERS[0], 582, PUSHED, 582), LayerOutcome(LAYERS[1], 807, PUSHED, 807),
        LayerOutcome(app1, 267, PUSHED, 267),
        LayerOutcome(digest("config-v1"), 1598, PUSHED, 1598, "config")])
    v2 = TransferReport("push", "127.0.0.1:5400/hello-app:v2", "builtin", [
        LayerOutcome(LAYERS[0], 582, EXISTS_REMOTE, 0),
        LayerOutcome(LAYERS[1], 807, EXISTS_REMOTE, 0),
        LayerOutcome(LAYERS[2], 362, PUSHED, 362),
        LayerOutcome(CONFIG, 1598, PUSHED, 1598, "config")])
    return v1, v2
