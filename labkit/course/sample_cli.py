"""`labkit sample path v1`: where the sample app's build context is, for a terminal's `docker build`.

Minimal version on the course-notebooks branch (the course-hands-on helper owns the full
`labkit sample` command; on merge keep theirs, but keep what it prints: this lab home's stamped
copy, `state.context(version)`, whose app layers are this lab's own, see there).
"""

from __future__ import annotations

import argparse


def sample_path(args: argparse.Namespace) -> int:
    from .state import context

    version = int(str(args.version).lower().removeprefix("v"))
    print(context(version))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    sample = sub.add_parser("sample", help="the course's sample application").add_subparsers(
        dest="sample_cmd", required=True)
    path = sample.add_parser("path", help="print the build context of hello-app VERSION "
                             "(docker build -t hello-app:v1 \"$(labkit sample path v1)\")")
    path.add_argument("version", choices=["v1", "v2", "1", "2"])
    path.set_defaults(func=sample_path)
