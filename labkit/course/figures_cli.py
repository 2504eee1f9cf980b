"""`labkit figures [--out images/]`: regenerate the course's figures from a real run.

It starts a private lab (temp home, free port), pushes and pulls hello-app v1 and v2 with the
built-in engine, and draws the pull flow, the layer reuse and the architecture from what
happened. Files are written with stable bytes, so an unchanged drawing leaves git clean.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FILES = ("pull-flow.png", "layer-reuse.png", "architecture.png")


def generate(out: Path, quiet: bool = True) -> list[Path]:
    """Record a run and write the figures into `out`; returns the paths written."""
    from . import diagrams
    from .diagrams import demo

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


def main(args: argparse.Namespace) -> int:
    out = Path(args.out)
    try:
        written = generate(out, quiet=not args.progress)
    except Exception as e:  # noqa: BLE001 - one line for the learner, not a traceback
        print(f"labkit figures: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `figures` to the `labkit` command (called by labkit.cli)."""
    p = subparsers.add_parser("figures", help="regenerate images/ from a real run on a "
                                               "private lab")
    p.add_argument("--out", default="images", help="output folder (default: images)")
    p.add_argument("--progress", action="store_true", help="show push/pull progress bars")
    p.set_defaults(func=main)
