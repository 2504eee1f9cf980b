"""`labkit figures [--out images/]`: regenerate the course's figures from a real run on a private
lab (`labkit.course.tools.figures`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(args: argparse.Namespace) -> int:
    from ..course.tools.figures import generate

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
    """Add `figures` to the `labkit` command."""
    p = subparsers.add_parser("figures", help="regenerate images/ from a real run on a "
                                               "private lab")
    p.add_argument("--out", default="images", help="output folder (default: images)")
    p.add_argument("--progress", action="store_true", help="show push/pull progress bars")
    p.set_defaults(func=main)
