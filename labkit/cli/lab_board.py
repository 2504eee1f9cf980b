"""`labkit lab board`: the instructor's board of a room's lab (issue 20).

    labkit lab board               # prints a one-time URL: open it in the instructor's browser
    labkit lab board --csv         # the board as CSV, on stdout
    labkit lab board --idle 5 --repeats 3

It needs the lab's secret (the home that started the lab), as every `/_labkit/` endpoint does:
the URL's ticket opens the board once, within 5 minutes, and the browser then keeps a session
cookie for the board only (labkit/lab/auth/board.py).
"""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlencode

from .lab import running_lab


def board_cmd(args: argparse.Namespace) -> int:
    from ..lab.process import LabError

    lab = running_lab(args)
    if lab is None:
        return 2
    try:
        if args.csv:
            from ..room.table import to_csv

            doc = lab.board(idle_minutes=args.idle, repeats=args.repeats)
            sys.stdout.write(to_csv(doc["rows"]))
            return 0
        url = lab.board_url()
    except LabError as e:
        print(f"labkit: {e}", file=sys.stderr)
        return 2
    options = {k: v for k, v in (("idle", args.idle), ("repeats", args.repeats)) if v is not None}
    if options:
        url += "&" + urlencode(options)
    print("# the room's board: open this URL once, within 5 minutes, in the instructor's "
          "browser (it then keeps the board open for 12 h)", file=sys.stderr)
    print(url)
    return 0


def register(lab: argparse._SubParsersAction) -> None:
    """Add `board` under `labkit lab`."""
    p = lab.add_parser("board", help="the instructor's board: a URL to open it once in a "
                                     "browser, or --csv")
    p.add_argument("--home", default=None, help="data directory (default LABKIT_HOME)")
    p.add_argument("--csv", action="store_true", help="print the board as CSV instead")
    p.add_argument("--idle", type=float, default=None,
                   help="flag a learner after this many minutes without a request (default 10; "
                        "0: never)")
    p.add_argument("--repeats", type=int, default=None,
                   help="flag a learner who met the same failure this many times (default 3)")
    p.set_defaults(func=board_cmd)
