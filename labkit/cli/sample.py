"""`labkit sample build [v1|v2|all]` and `labkit sample path v1`: the course's sample app from a
terminal, named as in the notebooks (`hello-app:v1`, `hello-app:v2`).

`docker build -t hello-app:v1 "$(labkit sample path v1)"` works in a terminal: `path` makes sure
the sample's base image (`labkit/base:1.0`, shipped with the kit, never pulled from Docker Hub)
is in the engine first, saying so on stderr, and prints the build context on stdout: the lab
home's stamped copy of the sample (`labkit.course.state.context`), the same one the notebooks
build, so its app layers are this lab's own even on a shared Docker Engine.
"""

from __future__ import annotations

import argparse
import sys

from ..course import sample
from ..course.state import context


def _versions(which: str) -> list[int]:
    if which == "all":
        return list(sample.VERSIONS)
    number = which.lstrip("v")
    if not number.isdigit() or int(number) not in sample.VERSIONS:
        raise SystemExit(f"labkit sample: choose v1, v2 or all, not {which!r}")
    return [int(number)]


def _engine():  # noqa: ANN202 - an Engine; imported late so `labkit sample path` starts fast
    from ..engines import select

    return select()


def _ensure_base(engine, quiet: bool = False) -> None:  # noqa: ANN001
    if any(i.ref in (sample.BASE_REF, f"docker.io/{sample.BASE_REF}") for i in engine.images()):
        return
    if not quiet:
        print(f"building the sample's base image {sample.BASE_REF} into the {engine.name} "
              "engine (once)", file=sys.stderr)
    sample.ensure_base(engine)


def build(args: argparse.Namespace) -> int:
    """Build hello-app:vN with whichever engine runs (Docker Engine or built-in)."""
    from ..engines.base import EngineError

    try:
        engine = _engine()
        _ensure_base(engine)
        for v in _versions(args.version):
            image = engine.build(context(v), f"{sample.APP_NAME}:v{v}")
            print(f"Successfully built {image.id.split(':')[-1][:12]} ({engine.name} engine)")
            print(f"Successfully tagged {sample.APP_NAME}:v{v}")
    except EngineError as e:
        print(f"labkit sample: {e}", file=sys.stderr)
        return 1
    return 0


def path(args: argparse.Namespace) -> int:
    """Print the build context of hello-app vN (after making sure its base is there), or of
    its linux/arm64 twin (`arm64`: FROM scratch, no base needed)."""
    if args.version == "arm64":
        print(sample.arm64_context())
        return 0
    versions = _versions(args.version)
    if len(versions) != 1:
        raise SystemExit("labkit sample path: name one version, v1 or v2")
    if not args.no_base:
        from ..engines.base import EngineError

        try:
            _ensure_base(_engine())
        except EngineError as e:
            print(f"labkit sample: {e}", file=sys.stderr)
            return 1
    print(context(versions[0]))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `sample` to the `labkit` command."""
    p = subparsers.add_parser("sample", help="the course's sample app: build it, or print its "
                                             "build context").add_subparsers(dest="sample_cmd",
                                                                             required=True)
    b = p.add_parser("build", help="build hello-app:v1 / v2 with the engine in use")
    b.add_argument("version", nargs="?", default="all", help="v1, v2 or all (default)")
    b.set_defaults(func=build)
    pa = p.add_parser("path", help="print hello-app's build context (for docker build)")
    pa.add_argument("version", help="v1, v2, or arm64 (v1 built for linux/arm64: "
                                    "docker build --platform linux/arm64)")
    pa.add_argument("--no-base", action="store_true",
                    help="do not build the base image labkit/base:1.0 if it is missing")
    pa.set_defaults(func=path)
