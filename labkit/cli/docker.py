"""`labkit docker ...`: the built-in engine as a docker CLI (`labkit.engines.builtin.cli`), handed
its arguments raw, so docker's own flags and errors come through unchanged."""

from __future__ import annotations

import argparse


def main(argv: list[str]) -> int:
    from ..engines.builtin import cli as docker_cli

    return docker_cli.main(argv)


def register(sub: argparse._SubParsersAction) -> None:
    """List `docker` in `labkit --help` (its arguments never reach argparse: see cli.main)."""
    sub.add_parser("docker", help="the built-in engine as a docker CLI (login, build, tag, "
                                  "push, pull, images, image rm, ...)", add_help=False)
