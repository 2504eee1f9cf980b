"""Run the lab in the foreground: `python -m labkit.lab.process.main --port N --home DIR`.

`labkit lab up` starts this detached; it writes `lab.json` once it listens and removes it on exit.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import config
from ..server.app import LabApp, LabSettings
from ..server.frontdoor import FrontDoor

if TYPE_CHECKING:
    from ..tls.authority import Issued

log = logging.getLogger("labkit.lab")


class Doors:
    """The lab's front doors: its own port, and one per region beyond the home region
    (labkit/lab/server/regions.py), served and stopped together."""

    def __init__(self, main: FrontDoor, others: list[FrontDoor]):
        self.main, self.others = main, others

    @property
    def port(self) -> int:
        return self.main.port

    def serve(self) -> None:
        self.main.serve()

    def stop(self) -> None:
        for door in list(self.others):
            door.stop()
        self.main.stop()


def serve(settings: LabSettings, certificate: tuple[Path, Path] | None = None) -> Doors:
    """Build the app and its front doors, bound to their ports (serving in the background);
    with `certificate` (a TLS lab) every door serves HTTPS with it."""
    others: list[FrontDoor] = []

    def open_door(port: int) -> int:
        door = FrontDoor(app, settings.host, port, certificate=certificate)
        door.prepare()
        others.append(door)
        return door.port

    app = LabApp(settings, open_door=open_door)
    server = FrontDoor(app, settings.host, settings.port, certificate=certificate)
    server.prepare()
    settings.port = server.port
    app.housekeeping.start()  # garbage at start, lifecycle policies on their schedule
    app.regions.reopen()  # the regions this home used before, on their ports
    return Doors(server, others)


def write_state(settings: LabSettings, issued: Issued | None = None) -> Path:
    """`lab.json`: what clients need to reach the lab (a TLS lab's: `tls`, the CA to trust and
    the names its certificate carries)."""
    path = settings.home / "lab.json"
    tmp = path.with_suffix(".tmp")
    state: dict[str, Any] = {
        "pid": os.getpid(), "host": settings.host, "port": settings.port,
        "registry": settings.registry_host, "region": settings.region,
        "token_ttl": settings.token_ttl, "started": settings.started}
    if settings.tls and issued is not None:
        state.update(tls=True, ca=str(issued.ca), tls_hosts=list(issued.names))
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path)
    return path


def _certificate(home: Path, args: argparse.Namespace, settings: LabSettings) -> Issued | None:
    """The server certificate of a TLS lab (made or reused, labkit/lab/tls), None for a plain
    one. The choice is the home's: asked now, or kept from its last start. ValueError for a
    host name no certificate can carry."""
    from ..tls.layout import resolve

    choice = resolve(home, args.tls, args.tls_host, args.host)
    settings.tls = choice.enabled
    if not choice.enabled:
        return None
    from ..tls.authority import ensure  # cryptography: a TLS lab's start only

    return ensure(home, choice.names)


def _stop_with_owner(pid: int, server: Doors, every: float = 1.0) -> None:
    """Stop the lab once `pid` has ended. A course run (`labkit course run`, nbval, the doctor)
    owns its private lab and stops it when it finishes; killed instead (a CI timeout, SIGKILL),
    it cannot, and the lab would run on with its temp home. A reused PID only keeps the lab up:
    the old behaviour, never a wrong stop."""
    from .pids import alive

    while alive(pid):
        time.sleep(every)
    log.info("the process that owns this lab (pid %d) ended: stopping", pid)
    server.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m labkit.lab.process.main")
    p.add_argument("--home", type=Path, default=None)
    p.add_argument("--host", default=config.DEFAULT_HOST)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--address", default=None,
                   help="the address clients reach the lab by, when not --host (a room's LAN "
                        "address while listening on 0.0.0.0): its repository URIs name it")
    p.add_argument("--region", default=None)
    p.add_argument("--token-ttl", type=float, default=config.DEFAULT_TOKEN_TTL)
    p.add_argument("--tls", action=argparse.BooleanOptionalAction, default=None,
                   help="serve HTTPS with the home's own CA (default: what this home chose last)")
    p.add_argument("--tls-host", action="append", default=None,
                   help="another name or address the certificate must carry (repeatable)")
    p.add_argument("--owner-pid", type=int, default=None,
                   help="stop when this process ends (a private lab of a course run)")
    args = p.parse_args(argv)
    home = (args.home or config.home()).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=os.environ.get("LABKIT_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("!!! the lab listens on %s, not on loopback: anyone who can reach this "
                    "machine can reach its registry and API (tokens still apply) !!!", args.host)
        print(f"WARNING: the lab listens on {args.host}, not only on 127.0.0.1", file=sys.stderr)
    settings = LabSettings(home=home, host=args.host,
                           port=args.port if args.port is not None else config.port(),
                           region=args.region or config.region(), token_ttl=args.token_ttl,
                           address=args.address)
    t0 = time.time()
    try:
        issued = _certificate(home, args, settings)
    except ValueError as e:
        log.error("TLS: %s", e)
        return 2
    try:
        server = serve(settings, issued.pair if issued else None)
    except OSError as e:
        log.error("cannot listen on %s:%s: Address already in use or not available (%s)",
                  settings.host, settings.port, e)
        return 2
    state = write_state(settings, issued)
    log.info("lab ready on %s://%s (home %s, %.2fs)", settings.scheme, settings.registry_host,
             home, time.time() - t0)
    if issued:
        log.info("TLS: clients trust %s (AWS_CA_BUNDLE, `labkit lab trust`)", issued.ca)

    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.owner_pid:
        threading.Thread(target=_stop_with_owner, args=(args.owner_pid, server), daemon=True,
                         name="owner-watch").start()
    try:
        server.serve()
    finally:
        try:
            if json.loads(state.read_text()).get("pid") == os.getpid():
                state.unlink()
        except (OSError, ValueError):
            pass
        log.info("lab stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
