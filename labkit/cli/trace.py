"""`labkit trace`: what the lab saw, for a learner who typed the commands in a terminal.

    labkit trace --mark                           # prints a mark (the trace's current end)
    docker pull $REGISTRY/hello-app:v1
    labkit trace --since N --last-pull --figure pull.png   # that pull, and its pull flow

Without --last-pull it lists every request since the mark, as the lab understood it (the ECR
action, the repository, the tag or digest, and for a refusal the lab's answer).
"""

from __future__ import annotations

import argparse
import sys

from .lab import home_of


def _lab(args: argparse.Namespace):  # noqa: ANN202 - a labkit.lab.Lab
    from ..lab import running
    from ..room.remote import room_lab

    home = home_of(args)
    lab = room_lab(home) or running(home)  # a joined room's: this learner's own requests
    if lab is None:
        print(f"labkit trace: no lab running for {home} (start one with `labkit lab up`)",
              file=sys.stderr)
    return lab


def _listing(records: list) -> str:  # noqa: ANN001 - TraceRecords
    from ..course.views import Table
    from ..oci.digest import short
    from ..trace import reader

    def what(r) -> str:  # noqa: ANN001
        if r.is_ping:
            return "ping (the registry's base URL)"
        ref = r.reference or r.digest or ""
        sep = "@" if ref.startswith("sha256:") else ":"
        ref = f"sha256:{short(ref)}" if ref.startswith("sha256:") else ref
        name = f"{r.repository}{sep}{ref}" if r.repository and ref else (r.repository or ref)
        label = "download" if r.is_download else (r.action or r.route or r.kind)
        return " ".join(x for x in (label, name) if x)

    def answer(r) -> str:  # noqa: ANN001
        code = r.reason.code if r.reason is not None else ""
        return f"{r.status} {code}".strip()

    rows = [[r.seq, r.method, what(r), answer(r), r.bytes_out, reader.client_name(r.client)]
            for r in reader.ordered(records)]
    return repr(Table(["#", "method", "request", "answer", "bytes out", "client"], rows))


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
        print(_listing(lab.trace(args.since)))
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
    p = subparsers.add_parser("trace", help="the lab's record of requests: a mark, the last "
                                            "pull, its pull-flow figure")
    p.add_argument("--home", default=None, help="the lab's home (default LABKIT_HOME)")
    p.add_argument("--mark", action="store_true", help="print the trace's current end")
    p.add_argument("--since", type=int, default=0, help="only requests after this mark")
    p.add_argument("--last-pull", action="store_true", help="the most recent pull only")
    p.add_argument("--repository", default=None,
                   help="with --last-pull: the repository (default: the last one pulled)")
    p.add_argument("--figure", default=None, help="with --last-pull: draw it to this file")
    p.set_defaults(func=main)
