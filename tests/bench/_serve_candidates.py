"""The server side of `bench_frontdoor.py`: `python _serve_candidates.py NAME PORT HOME` serves
the lab's whole app from HOME with the named HTTP server, using its documented API only.

A script of its own, importing nothing the server does not need, so that its start-up figures
are the server's and the lab's, not the benchmark's.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

IDLE = 3.0  # LABKIT_IDLE_TIMEOUT of every candidate (seconds); the benchmark sets it too
THREADS = 32


def serve(name: str, port: int, home: str) -> None:
    from labkit.lab.server.app import LabApp, LabSettings
    from labkit.lab.server.wsgibridge import Bridge

    settings = LabSettings(home=Path(home), port=port)
    if name.startswith("granian"):
        from labkit.lab.process.main import serve as lab_serve

        lab_serve(settings).serve()  # exactly what `labkit lab up` runs
        return
    app = LabApp(settings)
    app.housekeeping.start()
    if name.startswith("uvicorn"):
        import uvicorn

        uvicorn.Server(uvicorn.Config(Bridge(app, THREADS, IDLE), host="127.0.0.1", port=port,
                                      loop="asyncio", http="httptools", lifespan="off",
                                      timeout_keep_alive=int(IDLE), log_level="warning",
                                      access_log=False)).run()
    elif name.startswith("hypercorn"):
        from hypercorn.asyncio import serve as hypercorn_serve
        from hypercorn.config import Config

        config = Config()
        config.bind = [f"127.0.0.1:{port}"]
        config.keep_alive_timeout = IDLE
        config.loglevel = "WARNING"
        asyncio.run(hypercorn_serve(Bridge(app, THREADS, IDLE), config))  # type: ignore[arg-type]
    elif name.startswith("cheroot"):
        from cheroot import wsgi

        server = wsgi.Server(("127.0.0.1", port), app, numthreads=THREADS, timeout=int(IDLE))
        server.keep_alive_conn_limit = 1024  # documented; its default 10 closes busy clients
        signal.signal(signal.SIGTERM, lambda *_: server.stop())
        server.safe_start()
    else:
        raise SystemExit(f"unknown candidate {name}")


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]), sys.argv[3])
