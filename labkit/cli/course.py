"""`labkit course run` (the whole course headless, one line per notebook, like a test run) and
`labkit course open` (the learner's copy of the course in JupyterLab)."""

from __future__ import annotations

import argparse
import signal
import sys
import webbrowser
from pathlib import Path

from ..course.tools import open as opener
from ..course.tools import runner, workspace


def course_run(args: argparse.Namespace) -> int:
    try:
        src = Path(args.notebooks).resolve() if args.notebooks else runner.notebooks_dir()
        names = runner.select(args.only)
    except (FileNotFoundError, ValueError) as e:
        print(f"labkit: {e}", file=sys.stderr)
        return 2
    out = Path(args.out).resolve()
    where = f"to {out}" + (" and back into the notebooks (--update)" if args.update else "")
    print(f"running {len(names)} notebook(s) from {src}, writing {where}", flush=True)
    if args.update and args.solutions:
        print("labkit: --update keeps the learner's exercises unsolved; drop --solutions",
              file=sys.stderr)
        return 2
    with runner.isolated(engine=args.engine, home=args.home, port=args.port,
                         solutions=args.solutions) as home:
        from ..engines import select

        engine = select().name
        print(f"engine {engine}, lab home {home}", flush=True)
        results = runner.run(names, src, out, update=args.update, kernel=args.kernel,
                             timeout=args.timeout, solutions=args.solutions)
    failed = [r for r in results if not r.ok]
    total = sum(r.seconds for r in results)
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed in {total:.1f}s"
          + (f" (engine {engine})" if results else ""))
    return 1 if failed else 0


def _run_entry(args: argparse.Namespace) -> int:
    if args.out is None:
        args.out = "build/course"
    return course_run(args)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def course_open(args: argparse.Namespace) -> int:
    try:
        opener.require_jupyterlab()
        root = (Path(args.dir).expanduser() if args.dir else workspace.default_workspace())
        root = root.resolve()
        copied = workspace.fill(root)
        port = opener.choose_port(args.port)
    except (opener.OpenError, FileNotFoundError) as e:
        print(f"labkit: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"labkit: cannot prepare the workspace: {e}", file=sys.stderr)
        return 2
    print(f"workspace {root}", flush=True)
    for line in copied.summary():
        print(f"  {line}", flush=True)
    try:
        server = opener.start_on_a_free_port(root, port, asked=args.port is not None)
    except opener.OpenError as e:
        print(f"labkit: {e}", file=sys.stderr)
        return 1
    url = server.url()
    print(f"JupyterLab is running (log: {server.log}). Open this URL in your browser:", flush=True)
    print(f"    {url}", flush=True)
    print("Press Ctrl-C here to stop JupyterLab (your notebooks stay in the workspace).",
          flush=True)
    if not args.no_browser:
        webbrowser.open(url)
    try:
        signal.signal(signal.SIGTERM, _interrupt)  # `kill PID` stops JupyterLab too
        # Ctrl-C stops it even when started from a script in the background, where the shell
        # starts commands with SIGINT ignored (and Python keeps it ignored)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        code = server.process.wait()
        print(f"JupyterLab stopped (exit code {code}); see {server.log}", flush=True)
        return 0 if code == 0 else 1
    except KeyboardInterrupt:
        print("\nstopping JupyterLab", flush=True)
    finally:
        server.stop()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `course run` and `course open` to the `labkit` command."""
    course = sub.add_parser("course", help="the course's notebooks").add_subparsers(
        dest="course_cmd", required=True)
    run = course.add_parser("run", help="run the notebooks headless, in order, in a private lab")
    run.add_argument("--engine", choices=["docker", "builtin"], default=None,
                     help="force an engine (default: docker if it answers, else builtin)")
    run.add_argument("--out", default=None,
                     help="where executed notebooks go (default build/course)")
    run.add_argument("--only", action="append", default=None, metavar="NAME",
                     help="run only this notebook (e.g. 03 or 03-tag); repeatable")
    run.add_argument("--update", action="store_true",
                     help="maintainers: write the outputs back into the committed notebooks")
    run.add_argument("--solutions", action="store_true",
                     help="run each exercise's folded solution before its check, and make the "
                          "checks strict (LABKIT_SOLUTIONS=1): proves every exercise solvable")
    run.add_argument("--notebooks", default=None, help="the notebooks folder (default notebooks/)")
    run.add_argument("--home", default=None,
                     help="use this LABKIT_HOME (and keep it) instead of a temp one")
    run.add_argument("--port", type=int, default=None, help="lab port (default: a free one)")
    run.add_argument("--kernel", default="python3", help="Jupyter kernel name")
    run.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    run.set_defaults(func=_run_entry)

    p = course.add_parser("open", help="copy the course into your workspace and open it in "
                                       "JupyterLab")
    p.add_argument("--dir", default=None,
                   help=f"your workspace (default: LABKIT_WORKSPACE, else ~/{workspace.DEFAULT_NAME})")
    p.add_argument("--port", type=int, default=None,
                   help=f"JupyterLab's port on {opener.HOST} (default {opener.DEFAULT_PORT}, "
                        "else a free one)")
    p.add_argument("--no-browser", action="store_true",
                   help="only print the URL; do not open a browser")
    p.set_defaults(func=course_open)
