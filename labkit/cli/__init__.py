"""The `labkit` command: `lab up|down|status|env|trust|clock|lifecycle|account|board`, `docker`
(the built-in engine as a docker CLI), `classroom up|join|leave|status`, `course run|open`,
`doctor`, `explain`, `figures`, `sample build|path`, `trace`.

One module per command group; this one assembles the parser and runs the command. `labkit lab
...` is timed (the lab's start-up), so it loads only `lab`, `lab_admin`, `lab_board` and
`lab_trust`: the course's commands (and matplotlib, boto3 behind them) are imported only when
one of them is asked for.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import lab as lab_commands
from . import lab_admin, lab_board, lab_trust

# The command groups besides `lab` and `docker`, each a module of this package, imported only
# when asked for: a notebook runs `labkit lab env`, `labkit explain` and `labkit sample path`
# dozens of times, and each must not load the others' modules (the course runner's, boto3's).
GROUPS = ("classroom", "course", "doctor", "explain", "figures", "sample", "trace")


def build_parser(optional: bool | str = True) -> argparse.ArgumentParser:
    """The parser: `optional=True` has every command (for help), False leaves out the course's
    commands (for `labkit lab`), a group's name adds that group only."""
    from . import docker

    p = argparse.ArgumentParser(prog="labkit", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    lab = sub.add_parser("lab", help="the local ECR lab").add_subparsers(dest="lab_cmd",
                                                                         required=True)
    lab_commands.register(lab)
    lab_admin.register(lab)
    lab_board.register(lab)
    lab_trust.register(lab)
    docker.register(sub)
    if optional:
        register_course_commands(sub, only=optional if isinstance(optional, str) else None)
    return p


def register_course_commands(sub: argparse._SubParsersAction, only: str | None = None) -> None:
    """`classroom`, `course`, `doctor`, `explain`, `figures`, `sample`, `trace` (or the `only` one): imported
    here, not at the top, so `labkit lab up` (whose start time counts) does not load them."""
    import importlib

    for name in GROUPS if only is None else (only,):
        importlib.import_module(f"{__name__}.{name}").register(sub)


def _run(argv: list[str]) -> int:
    if argv[:1] == ["docker"]:  # the built-in engine's docker CLI takes its arguments raw
        from . import docker

        return docker.main(argv[1:])
    # `labkit lab ...` must start fast (the lab's start time is measured), and `labkit explain`
    # is typed after every failure: load only the asked-for group's module (all for help).
    group = argv[0] if argv and argv[0] in GROUPS else None
    args = build_parser(optional=False if argv[:1] == ["lab"] else group or True).parse_args(argv)
    return int(args.func(args) or 0)


def main(argv: list[str] | None = None) -> int:
    """Run one `labkit` command; its exit code. A reader that goes away early (`labkit trace |
    head`) ends the command quietly, as it ends any Unix tool, instead of in a traceback."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        code = _run(argv)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit flush
        return code
    except BrokenPipeError:
        # Python's advice (docs, "Note on SIGPIPE"): point stdout at devnull so the exit-time
        # flush cannot fail again; 141 = 128 + SIGPIPE, what a shell reports for `cat | head`.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
