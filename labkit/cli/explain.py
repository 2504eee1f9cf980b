"""`labkit explain`: the learner's last failure, as the lab recorded it, in a few lines.

    docker push $REGISTRY/helo-app:v1        # fails: name unknown
    labkit explain                           # what was asked, what the lab answered, why, the fix

It reads the running lab's trace (every request the lab refused, with why), so it works the
same after the real docker CLI, the built-in engine (`labkit docker`), the AWS CLI or boto3.
`--since N` (a mark from `labkit trace --mark`) looks only at what followed; `--json` is for
machines. Nothing refused: it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys

from .lab import home_of


def main(args: argparse.Namespace) -> int:
    from ..lab import running
    from ..room.remote import room_lab
    from ..trace.explain import NOTHING_REFUSED

    home = home_of(args)
    lab = room_lab(home) or running(home)  # a joined room's: this learner's own requests
    if lab is None:
        print(f"labkit explain: no lab running for {home} (start one with `labkit lab up`)",
              file=sys.stderr)
        return 3
    from ..course.explained import for_lab

    found = for_lab(lab, args.since, args.client)
    if args.json:
        doc = found.to_dict() if found is not None else {"refused": False}
        print(json.dumps(doc, indent=2))
        return 0
    if found is None:
        since = f" since mark {args.since}" if args.since else ""
        print(NOTHING_REFUSED.format(since=since))
        return 0
    print(found)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `explain` to the `labkit` command."""
    p = subparsers.add_parser("explain", help="why the lab refused your last request, and the "
                                              "command that fixes it")
    p.add_argument("--home", default=None, help="the lab's home (default LABKIT_HOME)")
    p.add_argument("--since", type=int, default=0,
                   help="only requests after this mark (`labkit trace --mark`)")
    p.add_argument("--client", default=None,
                   help="only this client's failures (docker, aws-cli, boto3, skopeo, ...)")
    p.add_argument("--json", action="store_true", help="print it as JSON")
    p.set_defaults(func=main)
