"""The course's figures from a real run (`labkit figures [--out images/]`).

It starts a private lab (temp home, free port), pushes and pulls hello-app v1 and v2 with the
built-in engine, and draws the pull flow, the layer reuse and the architecture from what
happened. Files are written with stable bytes, so an unchanged drawing leaves git clean.
"""

from __future__ import annotations

from pathlib import Path

FILES = ("pull-flow.png", "layer-reuse.png", "architecture.png")


def generate(out: Path, quiet: bool = True) -> list[Path]:
    """Record a run and write the figures into `out`; returns the paths written."""
    from .. import diagrams
    from ..diagrams import demo

    run = demo.record(quiet=quiet)
    figures = {
        "pull-flow.png": diagrams.pull_flow(
            run.trace, report=run.pull_v2, repository=demo.REPOSITORY,
            title=f"pull {demo.REPOSITORY}:v2 (v1 already pulled), as the lab saw it"),
        "layer-reuse.png": diagrams.layer_reuse(run.push_v1, run.push_v2, run.pull_v1,
                                                run.pull_v2),
        "architecture.png": diagrams.architecture(),
    }
    return [diagrams.save(fig, out / name) for name, fig in figures.items()]
