"""Reports of what a `docker push` / `docker pull` typed by the learner did, read from the lab.

The course's steps are commands run by the docker CLI (or the built-in engine behind the same
command line), so labkit holds no report object of its own for them. The lab saw every request
(labkit.trace reads its pushes and pulls), and the registry knows the image (labkit.ecr.images:
the manifest's config and layers, the layers' DiffIDs): together they say, layer by layer,
what travelled, under both names a layer has (the DiffID `docker push` prints, the blob digest
the registry stores).

This is also what keeps the course's checks independent of the Docker Engine's cache: what
`docker pull` prints ("Already exists") depends on every image on the daemon, including other
learners' and earlier runs'; the requests this lab received for this pull do not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..ecr.images import ImageFacts, describe
from ..engines.builtin.refs import parse as parse_ref
from ..engines.report import (
    EXISTS_LOCAL,
    EXISTS_REMOTE,
    MOUNTED,
    PULLED,
    PUSHED,
    LayerOutcome,
    TransferReport,
)
from ..trace import reader
from ..trace.record import TraceRecord


def image(c: Any, repository: str, reference: str, diff_ids: bool = False) -> ImageFacts:
    """The image `repository:reference` as the registry holds it (ECR's BatchGetImage)."""
    facts = describe(c.target, repository, reference, diff_ids=diff_ids)
    if facts is None:
        raise LookupError(f"the registry has no image {repository}:{reference}")
    return facts


def _outcomes(facts: ImageFacts, status_of: Any) -> list[LayerOutcome]:
    """One outcome per layer, then the config; `status_of(digest)` -> (status, bytes moved)."""
    out = []
    for blob in facts.layers:
        status, moved = status_of(blob.digest, blob.size)
        out.append(LayerOutcome(blob.digest, blob.size, status, moved, "layer", blob.diff_id))
    if facts.config is not None:
        status, moved = status_of(facts.config.digest, facts.config.size)
        out.append(LayerOutcome(facts.config.digest, facts.config.size, status, moved,
                                "config"))
    return out


def pull_report(c: Any, ref: str, trace: Sequence[TraceRecord]) -> TransferReport:
    """What the pull of `ref` fetched (its trace since a mark): 'Pull complete' or 'Already exists'."""
    parsed = parse_ref(ref)
    name, tag = parsed.repository, parsed.reference
    pulls = reader.pulls(trace, name)
    pull = next((p for p in reversed(pulls) if p.reference == tag), pulls[-1] if pulls else None)
    facts = image(c, name, pull.digest if pull and pull.digest else tag)
    fetched = set(pull.fetched) if pull else set()

    def status_of(digest: str, size: int) -> tuple[str, int]:
        return (PULLED, size) if digest in fetched else (EXISTS_LOCAL, 0)

    return TransferReport("pull", ref, c.engine.name, _outcomes(facts, status_of),
                          digest=facts.digest, command=f"docker pull {ref}")


def push_report(c: Any, ref: str, trace: Sequence[TraceRecord]) -> TransferReport:
    """What the push of `ref` sent (its trace since a mark): Pushed, Mounted or already there.
    Each layer carries its DiffID, the ID `docker push` printed for it."""
    parsed = parse_ref(ref)
    name, tag = parsed.repository, parsed.reference
    push = reader.last_push(trace, name, tag)
    facts = image(c, name, push.digest if push and push.digest else tag, diff_ids=True)
    uploaded = set(push.uploaded) if push else set()
    mounted = push.mounted if push else {}

    def status_of(digest: str, size: int) -> tuple[str, int]:
        if digest in uploaded:
            return PUSHED, size
        if digest in mounted:
            return f"{MOUNTED} {mounted[digest]}".strip(), 0
        return EXISTS_REMOTE, 0

    return TransferReport("push", ref, c.engine.name, _outcomes(facts, status_of),
                          digest=facts.digest, command=f"docker push {ref}")
