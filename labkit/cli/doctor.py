"""`labkit doctor`: check a machine before a workshop (exit code 1 when something must be fixed)."""

from __future__ import annotations

import argparse
import os


def doctor(args: argparse.Namespace) -> int:
    from ..course.tools import doctor as dr

    if args.engine:
        os.environ["LABKIT_ENGINE"] = args.engine
    results = dr.run()
    to_fix = [c for c in results if not c.ok]
    if to_fix:
        print(f"{len(to_fix)} thing(s) to fix before the workshop")
        return 1
    print("ready for the workshop")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `doctor` to the `labkit` command."""
    p = sub.add_parser("doctor", help="check this machine before a workshop")
    p.add_argument("--engine", choices=["docker", "builtin"], default=None,
                   help="check with this engine (default: docker if it answers, else builtin)")
    p.set_defaults(func=doctor)
