"""`labkit trace`: what the lab saw, for a learner who typed the commands in a terminal.

    labkit trace --mark                           # prints a mark (the trace's current end)
    docker pull $REGISTRY/hello-app:v1
    labkit trace --last-pull --figure pull.png    # that pull's requests, and its pull flow

Without --last-pull it lists every request since the mark.
"""

from __future__ import annotations

import argparse
import sys

from .lab import home_of


def _lab(args: argparse.Namespace):  # noqa: ANN202 - a labkit.lab.Lab
    from ..lab import running

    home = home_of(args)
    lab = running(home)
    if lab is None:
        print(f"labkit trace: no lab running for {home} (start one with `labkit lab up`)",
              file=sys.stderr)
    return lab


def main(args: argparse.Namespace) -> int:
    lab = _lab(args)
    if lab is None:
        return 3
    if args.mark:
        print(lab.trace_mark())
        return 0
    if not args.last_pull:
        if args.figure:
            print("labkit trace: --figure draws a pull: add --last-pull", file=sys.stderr)
            return 2
        from ..course.views import Table

        rows = [[r.get("seq"), r.get("method"), r.get("path"), r.get("status"),
                 r.get("bytes_out", 0), r.get("agent", "")[:30]] for r in lab.trace(args.since)]
        print(repr(Table(["#", "method", "path", "status", "bytes out", "client"], rows)))
        return 0
    from ..course.lastpull import last_pull

    pull = last_pull(lab, args.since, args.repository)
    if not pull.found:
        print(f"labkit trace: {pull!r} (since mark {args.since}); pull first, e.g. "
              f"docker pull {lab.registry}/hello-app:v1", file=sys.stderr)
        return 1
    print(repr(pull))
    if args.figure:
        from ..course.diagrams import save

        path = save(pull.figure(), args.figure)
        print(f"wrote {path}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `trace` to the `labkit` command."""
    p = subparsers.add_parser("trace", help="the lab's record of registry requests: a mark, "
                                            "the last pull, its pull-flow figure")
    p.add_argument("--home", default=None, help="the lab's home (default LABKIT_HOME)")
    p.add_argument("--mark", action="store_true", help="print the trace's current end")
    p.add_argument("--since", type=int, default=0, help="only requests after this mark")
    p.add_argument("--last-pull", action="store_true", help="the most recent pull only")
    p.add_argument("--repository", default=None,
                   help="with --last-pull: the repository (default: the last one pulled)")
    p.add_argument("--figure", default=None, help="with --last-pull: draw it to this file")
    p.set_defaults(func=main)
