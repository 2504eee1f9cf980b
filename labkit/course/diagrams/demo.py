"""A real run of the course's steps, recorded for the figures in `images/`.

The figures must show what really happens, so they are drawn from a run against a private lab
(temp LABKIT_HOME, free loopback port) with the built-in engine: create the repository, log in,
build and push hello-app v1 then v2, pull v1 into an empty engine home and then v2 into the same
one (so the v2 pull both downloads and skips layers). The lab is stopped afterwards.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...engines.report import TransferReport
from ...lab.process import free_port
from ...trace.reader import settled
from ...trace.record import TraceRecord

REPOSITORY = "hello-app"


@dataclass
class Run:
    """What the figures are drawn from."""

    push_v1: TransferReport
    push_v2: TransferReport
    pull_v1: TransferReport
    pull_v2: TransferReport
    trace: list[TraceRecord] = field(default_factory=list)  # the v2 pull, as the lab saw it


def mask_address(records: list[TraceRecord], registry: str) -> list[TraceRecord]:
    """Replace the lab's random port by PORT, so regenerated images do not change with it."""
    host = registry.rsplit(":", 1)[0]

    def masked(text: str | None) -> str | None:
        return text.replace(registry, f"{host}:PORT") if text else text

    return [dataclasses.replace(r, challenge=masked(r.challenge), location=masked(r.location))
            for r in records]


def settled_trace(lab: Any, mark: int, timeout: float = 3.0) -> list[TraceRecord]:
    """The trace since `mark`, once every redirect has its storage GET recorded
    (labkit.trace.reader.settled)."""
    deadline = time.monotonic() + timeout
    while True:
        records = lab.trace(since=mark)
        if settled(records) or time.monotonic() > deadline:
            return records
        time.sleep(0.05)


def record(workdir: Path | None = None, quiet: bool = True) -> Run:
    """Run the steps against a fresh lab and return the reports and the v2 pull's trace."""
    from ... import ecr
    from ...engines import select
    from ...lab import process
    from .. import sample

    with tempfile.TemporaryDirectory(prefix="labkit-figures-", dir=workdir) as tmp:
        root = Path(tmp)
        home = root / "lab"
        lab = process.start(home, port=free_port())
        try:
            target = ecr.connect(lab=lab)
            target.create_repository(REPOSITORY)
            pusher = select("builtin", home=root / "push-engine")
            target.login(pusher)
            sample.ensure_base(pusher)
            pushes = []
            for version in sample.VERSIONS:
                local = f"{REPOSITORY}:v{version}"
                pusher.build(sample.context(version), local)
                uri = target.uri(REPOSITORY, f"v{version}")
                pusher.tag(local, uri)
                pushes.append(pusher.push(uri, progress=not quiet))
            puller = select("builtin", home=root / "pull-engine")
            target.login(puller)
            pull_v1 = puller.pull(target.uri(REPOSITORY, "v1"), progress=not quiet)
            mark = lab.trace_mark()
            pull_v2 = puller.pull(target.uri(REPOSITORY, "v2"), progress=not quiet)
            trace = mask_address(settled_trace(lab, mark), lab.registry)
        finally:
            process.stop(home)
    return Run(pushes[0], pushes[1], pull_v1, pull_v2, trace)
