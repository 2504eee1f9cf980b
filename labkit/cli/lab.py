"""`labkit lab up|down|status|env`: start, stop, find the lab, and print the variables that point
`aws` and `docker` at it. Loaded by every `labkit lab ...`, so it imports the lab lazily."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from .. import config


def home_of(args: argparse.Namespace) -> Path:
    """The lab home a command works on: --home, else LABKIT_HOME, else the default."""
    home = getattr(args, "home", None)
    return (Path(home).expanduser() if home else config.home()).resolve()


def running_lab(args: argparse.Namespace) -> Any:
    """The running lab of the command's home (a `labkit.lab.Lab`), or None once it has said
    there is none (the command then exits 2)."""
    from ..lab.process import running

    lab = running(home_of(args))
    if lab is None:
        print("labkit: no lab running (start one with `labkit lab up`)", file=sys.stderr)
    return lab


def lab_up(args: argparse.Namespace) -> int:
    from ..lab import process

    home = home_of(args)
    existing = process.running(home)
    if existing:
        print(f"a lab is already running for {home}: {existing.endpoint_url} "
              f"(pid {existing.pid})")
        if args.tls is not None and args.tls != existing.tls:
            print(f"labkit: it {'serves' if existing.tls else 'does not serve'} TLS; to change "
                  f"that, `labkit lab down` then `labkit lab up {'--tls' if args.tls else '--no-tls'}`",
                  file=sys.stderr)
            return 1
        return 0
    if args.foreground:
        from ..lab.process import main as lab_main

        argv = ["--home", str(home), "--host", args.host]
        if args.port is not None:
            argv += ["--port", str(args.port)]
        if args.token_ttl is not None:
            argv += ["--token-ttl", str(args.token_ttl)]
        if args.tls is not None:
            argv.append("--tls" if args.tls else "--no-tls")
        for name in args.tls_host or ():
            argv += ["--tls-host", name]
        return lab_main.main(argv)
    try:
        lab = process.start(home, port=args.port, host=args.host, token_ttl=args.token_ttl,
                            fork=True, tls=args.tls, tls_hosts=args.tls_host)
    except process.LabError as e:
        print(f"labkit: {e}", file=sys.stderr)
        return 1
    print(f"lab running at {lab.endpoint_url} (registry {lab.registry}, pid {lab.pid}, "
          f"home {home})")
    if lab.ca_file is not None:
        print(f"TLS: its certificate authority is {lab.ca_file}; `labkit lab trust` puts it "
              f"where docker and podman look")
    print(f"next: eval \"$(labkit lab env{' --home ' + shlex.quote(str(home)) if args.home else ''})\"")
    return 0


def lab_down(args: argparse.Namespace) -> int:
    from ..lab import process

    try:
        result = process.stop(home_of(args))
    except process.LabError as e:
        print(f"labkit: {e}", file=sys.stderr)
        return 1
    print(result.message)
    return 0


def lab_status(args: argparse.Namespace) -> int:
    from ..lab import process

    home = home_of(args)
    found = process.find(home)
    if found.verdict is not process.Verdict.PROVEN or found.state is None:
        if found.verdict is process.Verdict.UNSURE:
            print(f"labkit: cannot tell whether this home's lab runs: {found.reason}",
                  file=sys.stderr)
            return 1
        why = f" ({found.reason}; removed the stale lab.json)" if found.reason else ""
        print(f"no lab running for {home}{why}; start one with `labkit lab up`")
        return 3
    lab = process.Lab.from_state(home, found.state)
    st = lab.status()
    print(f"lab running at {lab.endpoint_url}\n  registry  {lab.registry}\n  pid       {lab.pid}"
          f"\n  home      {home}\n  region    {st['region']}\n  account   {st['account_id']}"
          f"\n  token ttl {st['token_ttl']:.0f}s")
    if lab.ca_file is not None:
        print(f"  TLS       on: every door serves HTTPS; its CA is {lab.ca_file}")
    others = {name: host for name, host in (st.get("regions") or {}).items()
              if name != st["region"]}
    for name, host in sorted(others.items()):  # each other region's registry (regions.py)
        print(f"  {name:<9} registry {host}")
    return 0


def lab_env(args: argparse.Namespace) -> int:
    from ..lab import process
    from ..room.remote import room_lab

    home = home_of(args)
    shell = "powershell" if args.format == "powershell" else "bash"
    room = room_lab(home)  # a joined room (`labkit classroom join`) instead of a local lab
    lab = room or process.running(home)
    if not lab:
        if args.no_start:
            print(f"labkit: no lab running for {home}", file=sys.stderr)
            return 3
        lab = process.start(home)
    from ..ecr.login import login_command
    from ..lab.process.env import docker_first, render, variables

    if room is not None:
        print(f"# the room, as {room.joined.name} (`labkit classroom leave` goes back to a "
              "local lab)")
    print(render(variables(lab), shell))
    if room is not None:  # the room profile's keys, not a local lab's left in this shell
        keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
        print("\n".join(f"Remove-Item Env:{k} -ErrorAction SilentlyContinue" for k in keys)
              if shell == "powershell" else f"unset {' '.join(keys)}")
    shim = _builtin_docker(home)
    if shim is not None:
        forced = (os.environ.get("LABKIT_ENGINE") or "").strip().lower() == "builtin"
        print(docker_first(str(shim), shell, "LABKIT_ENGINE=builtin" if forced
                           else "no Docker Engine answers"))
    print(f"# then: {login_command(lab.region, lab.registry, shell)}")
    return 0


def _builtin_docker(home: Path) -> Path | None:
    """The built-in engine's `docker` for this lab's terminal, when it is the engine to use
    (LABKIT_ENGINE=builtin, or no Docker Engine answers); None when Docker's CLI is. It is
    the file a notebook's kernel writes for this home (`course.shell.activate`), not another."""
    from ..engines.shim import shim_dir, uses_builtin, write_shim

    if not uses_builtin():
        return None
    from ..engines.builtin.store import default_home

    return write_shim(shim_dir(home), default_home(home))


def register(lab: argparse._SubParsersAction) -> None:
    """Add `up`, `down`, `status` and `env` under `labkit lab`."""
    up = lab.add_parser("up", help="start the lab (detached) and print its address")
    up.add_argument("--port", type=int, default=None,
                    help=f"port on 127.0.0.1 (default {config.DEFAULT_PORT} or LABKIT_PORT)")
    up.add_argument("--home", default=None, help="data directory (default LABKIT_HOME)")
    up.add_argument("--host", default=os.environ.get("LABKIT_HOST", config.DEFAULT_HOST),
                    help="address to listen on (default 127.0.0.1; anything else is public)")
    up.add_argument("--token-ttl", type=float, default=None,
                    help="authorization token lifetime in seconds (default 43200 = 12 h)")
    up.add_argument("--tls", action=argparse.BooleanOptionalAction, default=None,
                    help="serve HTTPS with a certificate from this home's own CA (kept for the "
                         "next start; --no-tls: plain HTTP again; default: plain)")
    up.add_argument("--tls-host", action="append", default=None, metavar="NAME",
                    help="a host name or address (besides 127.0.0.1 and localhost) the "
                         "certificate must carry: a workshop room's address (repeatable)")
    up.add_argument("--foreground", action="store_true", help="run in this terminal")
    up.set_defaults(func=lab_up)
    for name, fn, text in (("down", lab_down, "stop the lab (its data stays)"),
                           ("status", lab_status, "is the lab running, and where")):
        sp = lab.add_parser(name, help=text)
        sp.add_argument("--home", default=None)
        sp.set_defaults(func=fn)
    env = lab.add_parser("env", help="print the exports that point aws and docker at the lab")
    env.add_argument("--home", default=None)
    env.add_argument("--format", choices=["sh", "powershell"], default="sh")
    env.add_argument("--no-start", action="store_true", help="fail instead of starting a lab")
    env.set_defaults(func=lab_env)
