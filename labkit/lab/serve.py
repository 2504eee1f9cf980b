"""Run the lab in the foreground: `python -m labkit.lab.serve --port N --home DIR`.

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
from typing import Any

from werkzeug.serving import BaseWSGIServer, DechunkedInput, WSGIRequestHandler, make_server

from .. import config
from .registry.chunked import Dechunker
from .server import LabApp, LabSettings

log = logging.getLogger("labkit.lab")


# A client that goes silent mid-request (a laptop lid closed mid-push: no FIN, no RST) would
# hold its thread, and the lock of its upload session, forever. After this many seconds without
# a byte the request fails, the half-received chunk is rolled back and the session can resume.
IDLE_TIMEOUT = float(os.environ.get("LABKIT_IDLE_TIMEOUT", "120"))


class QuietHandler(WSGIRequestHandler):
    """Request lines go to the lab's log at debug level, never with query strings (signatures)."""

    timeout = IDLE_TIMEOUT  # socketserver applies it to each connection's socket

    # A 256 KiB read buffer: a chunked layer upload (docker, skopeo) then costs one recv per
    # several chunks instead of two or three per chunk; Content-Length bodies are unaffected
    # (their 1 MiB reads bypass the buffer).
    rbufsize = 1 << 18

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        # no path when the request line itself was bad (a TLS hello from docker or skopeo
        # probing for HTTPS): without the default the thread crashed instead of answering 400
        path = getattr(self, "path", None) or ""
        log.debug("%s %s %s", getattr(self, "command", None), path.split("?", 1)[0], code)

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002
        if type == "error":
            log.warning(message.rstrip(), *args)

    def make_environ(self) -> dict[str, Any]:
        """werkzeug's environ, with chunked bodies decoded without a copy per chunk."""
        environ = super().make_environ()
        if isinstance(environ.get("wsgi.input"), DechunkedInput):
            environ["wsgi.input"] = Dechunker(self.rfile)
        return environ


def serve(settings: LabSettings) -> BaseWSGIServer:
    """Build the app and the server (bound, not yet serving)."""
    app = LabApp(settings)
    server = make_server(settings.host, settings.port, app, threaded=True,
                         request_handler=QuietHandler)
    settings.port = server.server_address[1]
    server.app = app  # type: ignore[attr-defined]
    app.housekeeping.start()  # issue 11: garbage at start, lifecycle policies on a schedule
    return server


def write_state(settings: LabSettings) -> Path:
    path = settings.home / "lab.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "host": settings.host, "port": settings.port,
                               "registry": settings.registry_host, "region": settings.region,
                               "token_ttl": settings.token_ttl, "started": settings.started}))
    os.replace(tmp, path)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m labkit.lab.serve")
    p.add_argument("--home", type=Path, default=None)
    p.add_argument("--host", default=config.DEFAULT_HOST)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--region", default=None)
    p.add_argument("--token-ttl", type=float, default=config.DEFAULT_TOKEN_TTL)
    p.add_argument("--ready-fd", type=int, default=None, help=argparse.SUPPRESS)
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
                           region=args.region or config.region(), token_ttl=args.token_ttl)
    t0 = time.time()
    try:
        server = serve(settings)
    except (OSError, SystemExit) as e:  # werkzeug exits when the port is taken
        log.error("cannot listen on %s:%s: Address already in use or not available (%s)",
                  settings.host, settings.port, e)
        return 2
    state = write_state(settings)
    if args.ready_fd is not None:  # tell `labkit lab up` we listen, without it polling HTTP
        os.write(args.ready_fd, f"ready {settings.port}\n".encode())
        os.close(args.ready_fd)
    log.info("lab ready on http://%s (home %s, %.2fs)", settings.registry_host, home,
             time.time() - t0)

    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
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
