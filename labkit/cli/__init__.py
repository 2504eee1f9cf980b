"""The `labkit` command: `lab up|down|status|env|clock|lifecycle`, `docker` (the built-in engine
as a docker CLI), `course run|open`, `doctor`, `explain`, `figures`, `sample build|path`, `trace`.

One module per command group; this one assembles the parser and runs the command. `labkit lab
...` is timed (the lab's start-up), so it loads only `lab` and `lab_admin`: the course's
commands (and matplotlib, boto3 behind them) are imported only when one of them is asked for.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import lab as lab_commands
from . import lab_admin


def build_parser(optional: bool = True) -> argparse.ArgumentParser:
    """The whole parser; `optional=False` leaves out the course's commands (for `labkit lab`)."""
    from . import docker

    p = argparse.ArgumentParser(prog="labkit", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    lab = sub.add_parser("lab", help="the local ECR lab").add_subparsers(dest="lab_cmd",
                                                                         required=True)
    lab_commands.register(lab)
    lab_admin.register(lab)
    docker.register(sub)
    if optional:
        register_course_commands(sub)
    return p


def register_course_commands(sub: argparse._SubParsersAction) -> None:
    """`course`, `doctor`, `explain`, `figures`, `sample`, `trace`: imported here, not at the top, so
    `labkit lab up` (whose start time counts) does not load the course's modules."""
    from . import course, doctor, explain, figures, sample, trace

    for module in (course, doctor, explain, figures, sample, trace):
        module.register(sub)


def _run(argv: list[str]) -> int:
    if argv[:1] == ["docker"]:  # the built-in engine's docker CLI takes its arguments raw
        from . import docker

        return docker.main(argv[1:])
    # `labkit lab ...` must start fast (the lab's start time is measured): skip loading the
    # other commands' modules unless they are asked for.
    args = build_parser(optional=not (argv[:1] == ["lab"])).parse_args(argv)
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
