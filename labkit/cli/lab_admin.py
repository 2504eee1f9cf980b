"""`labkit lab clock ...`, `labkit lab lifecycle run` and `labkit lab account create|list`: make
time pass, apply policies now, make a second AWS account to share images with."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .lab import home_of as _home
from .lab import running_lab


def _lab_or_room(args: argparse.Namespace) -> Any:
    """The joined room's lab (this learner's account in it), else the home's running lab."""
    from ..room.remote import room_lab

    return room_lab(_home(args)) or running_lab(args)


def clock_cmd(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from ..lab.housekeeping.clock import FILE, TOKEN_FILE, ClockError, LabClock, describe, parse_duration
    from ..room.remote import RoomRefused, room_lab

    which = "token clock" if args.tokens else "lab clock"
    room = room_lab(_home(args))
    try:
        seconds = parse_duration(args.duration) if args.clock_cmd == "advance" else None
        if room is not None:  # a room: this learner's account's clock, nobody else's
            which = f"your {which} in the room"
            if args.clock_cmd == "show":
                state = room.clock(args.tokens)
            else:
                state = room.move_clock(seconds, tokens=args.tokens)
            now, offset = float(state["now"]), float(state["offset"])
        else:  # the file a running lab re-reads: no request needed
            clock = LabClock(_home(args), file=TOKEN_FILE if args.tokens else FILE)
            if seconds is not None:
                clock.advance(seconds)
            elif args.clock_cmd == "reset":
                clock.reset()
            now, offset = clock.now(), clock.offset
    except (ClockError, RoomRefused) as e:
        print(f"labkit: {e}", file=sys.stderr)
        return 2
    when = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    print(f"{which}: {when} ({describe(offset)} ahead of the wall clock)")
    return 0


def lifecycle_cmd(args: argparse.Namespace) -> int:
    from ..lab.process import LabError
    from ..room.remote import RoomRefused

    lab = _lab_or_room(args)
    if lab is None:
        return 2
    try:
        results = lab.run_lifecycle(args.repository)
    except (LabError, RoomRefused) as e:
        print(f"labkit: {e}", file=sys.stderr)
        return 2
    if not results:
        print("no repository has a lifecycle policy")
    for r in results:
        if r["error"]:
            print(f"{r['repository']}: policy skipped: {r['error']}")
            continue
        print(f"{r['repository']}: expired {len(r['expired'])} image(s)")
        for v in r["expired"]:
            tags = ", ".join(v["tags"]) or "<untagged>"
            print(f"  {v['digest'][:19]}  {tags}  (rule {v['rule_priority']})")
    return 0


def account_cmd(args: argparse.Namespace) -> int:
    """`create NAME`: a new account (or the one of that name, so a notebook can run it twice);
    its administrator's keys and its registry as `export` lines (eval them in a second
    terminal to act as that account). `list`: the accounts and their registries."""
    import shlex

    from ..lab.process import LabError
    from ..room.remote import RoomRefused

    lab = _lab_or_room(args)
    if lab is None:
        return 2
    try:
        if args.account_cmd == "list":
            if not hasattr(lab, "admin"):
                raise RoomRefused("in a room, the list of accounts is the instructor's (`labkit "
                               "lab account create NAME` prints one of yours again)")
            doc = lab.admin("GET", "/_labkit/accounts")
            for account, name in sorted(doc["accounts"].items()):
                registries = doc["registries"].get(account, {})
                where = ", ".join(f"{r} {h}" for r, h in sorted(registries.items()))
                print(f"{account}  {name or '-':<16} {where}".rstrip())
            return 0
        made = lab.create_account(args.name)
    except (LabError, RoomRefused) as e:
        print(f"labkit: {e}", file=sys.stderr)
        return 2
    already = "" if made.get("created", True) else " (already there: the keys it was made with)"
    print(f"# account {made['account_id']} ({made['name']}){already}: its administrator is "
          f"{made['user']}; these keys act as it (eval this in another terminal)")
    print(f"export AWS_ACCESS_KEY_ID={shlex.quote(made['access_key_id'])}")
    print(f"export AWS_SECRET_ACCESS_KEY={shlex.quote(made['secret_access_key'])}")
    if made.get("registry"):  # its registry in the lab's region (an ECR address's stand-in)
        print(f"export REGISTRY={shlex.quote(made['registry'])}")
    return 0


def register(lab: argparse._SubParsersAction) -> None:
    """Add `clock`, `lifecycle` and `account` under `labkit lab`."""
    clock = lab.add_parser("clock", help="the lab's clock (make time pass for lifecycle rules)")
    csub = clock.add_subparsers(dest="clock_cmd", required=True)
    adv = csub.add_parser("advance", help="move the lab's clock forward, e.g. 15d, 36h, 90m")
    adv.add_argument("duration")
    csub.add_parser("reset", help="back to the wall clock")
    csub.add_parser("show", help="print the lab's time")
    for p in csub.choices.values():
        p.add_argument("--home", default=None, help="data directory (default LABKIT_HOME)")
        p.add_argument("--tokens", action="store_true",
                       help="the clock authorization tokens are issued and judged by (its own: "
                            "image ages and lifecycle rules keep theirs), e.g. `advance 13h "
                            "--tokens` makes today's docker login tomorrow morning's")
    clock.set_defaults(func=clock_cmd)
    life = lab.add_parser("lifecycle", help="lifecycle policies")
    lsub = life.add_subparsers(dest="lifecycle_cmd", required=True)
    run = lsub.add_parser("run", help="apply the lifecycle policies now (the lab does it every "
                          "LABKIT_LIFECYCLE_INTERVAL seconds)")
    run.add_argument("--repository", default=None, help="only this repository")
    run.add_argument("--home", default=None, help="data directory (default LABKIT_HOME)")
    life.set_defaults(func=lifecycle_cmd)
    account = lab.add_parser("account", help="the lab's AWS accounts (share images across "
                                              "accounts)")
    asub = account.add_subparsers(dest="account_cmd", required=True)
    create = asub.add_parser("create", help="a new account and its administrator's access key, "
                                            "as export lines")
    create.add_argument("name", help="the account's name (1-50 printable characters)")
    asub.add_parser("list", help="the accounts, and the registries each has opened")
    for p in asub.choices.values():
        p.add_argument("--home", default=None, help="data directory (default LABKIT_HOME)")
    account.set_defaults(func=account_cmd)
