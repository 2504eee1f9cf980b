"""An engine's report as trace records, for where no lab traced the requests (real AWS).

The built-in engine records each request it makes (`report.steps`); the Docker Engine reports
only its layers. Either way the result reads like a lab's trace, so the same reader and the
same diagram serve both. Engines answer the 401 challenge themselves and record only the
retry: the 401 is put back (`IMPLIED_CHALLENGE`), so the diagram still shows the handshake
that must have happened.
"""

from __future__ import annotations

from ..engines.builtin.refs import parse as parse_ref
from ..engines.report import PULLED, TransferReport
from ..oci import routes
from .record import (
    BASE,
    BASIC,
    BLOB,
    MANIFEST,
    NO_AUTH,
    PRESIGNED,
    REGISTRY,
    STORAGE,
    TOKEN,
    TraceRecord,
)

IMPLIED_CHALLENGE = "Basic realm=… (answered by the engine, not recorded)"
AGENT = {"builtin": "labkit-builtin", "docker": "docker"}


class _Records:
    def __init__(self, agent: str):
        self.items: list[TraceRecord] = []
        self.agent = agent

    def add(self, method: str, route: str | None, status: int, nbytes: int = 0, *,
            name: str = "", reference: str = "", digest: str = "", path: str = "",
            kind: str = REGISTRY, auth: str = BASIC, **extra: object) -> TraceRecord:
        reads = method in ("GET", "HEAD")
        if not path and route is not None:
            path = routes.path(route, name, reference, digest)
        rec = TraceRecord(seq=len(self.items) + 1, time=float(len(self.items)), kind=kind,
                          method=method, path=path, status=status,
                          bytes_in=0 if reads else nbytes, bytes_out=nbytes if reads else 0,
                          client=self.agent, auth=auth, route=route,
                          repository=name or None, reference=reference or None,
                          digest=digest or None, **extra)  # type: ignore[arg-type]
        self.items.append(rec)
        return rec


def records_from_report(report: TransferReport) -> list[TraceRecord]:
    """Trace records from a pull report: its recorded steps, else rebuilt from its layers.
    The put-back 401 carries `challenge == IMPLIED_CHALLENGE`."""
    out = _Records(AGENT.get(report.engine, report.engine))
    parsed = parse_ref(report.ref)
    repo, ref = parsed.repository, parsed.reference
    if report.steps:
        prev: TraceRecord | None = None
        for step in report.steps:
            m = routes.match(step.path)
            redirected = prev is not None and prev.redirected and (m is None or
                                                                  m.route == "storage")
            if m is not None and m.route == "base" and step.status == 200 and not any(
                    r.is_ping for r in out.items):
                out.add("GET", BASE, 401, auth=NO_AUTH, challenge=IMPLIED_CHALLENGE)
            if redirected and prev is not None:
                prev.location = step.path
                out.add(step.method, STORAGE, step.status, step.bytes, path=step.path,
                        digest=prev.digest or "", kind=STORAGE, auth=PRESIGNED)
            elif m is None:
                out.add(step.method, TOKEN if step.note == "token" else None, step.status,
                        step.bytes, path=step.path)
            else:
                out.add(step.method, m.route, step.status, step.bytes, path=step.path,
                        name=m.name or "", reference=m.reference or "", digest=m.digest or "")
            prev = out.items[-1]
        return out.items
    out.add("GET", BASE, 401, auth=NO_AUTH, challenge=IMPLIED_CHALLENGE)
    out.add("GET", BASE, 200, 2)
    out.add("GET", MANIFEST, 200, name=repo, reference=ref)
    blobs = [x for x in report.layers if x.kind == "config"]
    blobs += [x for x in report.layers if x.kind != "config"]
    for layer in blobs:
        if layer.status != PULLED:
            continue
        storage = routes.path("storage", digest=layer.digest)
        out.add("GET", BLOB, 307, name=repo, digest=layer.digest, location=storage)
        out.add("GET", STORAGE, 200, layer.moved or layer.size, digest=layer.digest,
                kind=STORAGE, auth=PRESIGNED)
    return out.items
