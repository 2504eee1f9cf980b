"""Benchmark: HTTP server candidates for the lab's front door, side by side, same app, same run.

    python tests/bench/bench_frontdoor.py [--size-mib 256] [--seconds 5] [--only NAME ...]

Each candidate serves the bare registry app (`tests.registry_server.make_app`, the code
every blob upload and HEAD runs through) in a process of its own; then, per candidate:
start-up (wall and CPU seconds until GET /v2/ answers), a blob upload by `curl -T` PUT (MiB/s
and the server's CPU seconds), and requests per second with `hey -c 16` (keep-alive) on a blob
HEAD. The candidates that are not the lab's dependency must be installed by hand to be measured
(`pip install waitress gunicorn granian`); a missing one is listed as such. Results and the
choice they led to: docs/frontdoor.md.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
REPO = "bench/frontdoor"
CANDIDATES = ["cheroot (labkit FrontDoor)", "werkzeug threaded (before)", "waitress",
              "gunicorn gthread", "granian wsgi"]
NEEDS = {"waitress": "waitress", "gunicorn gthread": "gunicorn", "granian wsgi": "granian"}

# The server side: `python bench_frontdoor.py --serve NAME PORT ROOT`.
def app_for(root: str):  # noqa: ANN201
    sys.path.insert(0, str(ROOT))
    from tests.registry_server import make_app

    return make_app(Path(root), {REPO: False})[0]


def granian_app():  # noqa: ANN201 - granian imports its target by name
    return app_for(os.environ["BENCH_ROOT"])


def serve(name: str, port: int, root: str) -> None:
    if name.startswith("cheroot"):
        sys.path.insert(0, str(ROOT))
        from labkit.lab.server.frontdoor import FrontDoor

        server = FrontDoor(app_for(root), "127.0.0.1", port)
        server.prepare()
        server.serve()
    elif name.startswith("werkzeug"):
        from werkzeug.serving import make_server

        make_server("127.0.0.1", port, app_for(root), threaded=True).serve_forever()
    elif name == "waitress":
        import waitress

        waitress.serve(app_for(root), host="127.0.0.1", port=port, threads=16, _quiet=True)
    elif name == "gunicorn gthread":
        from gunicorn.app.base import BaseApplication

        class App(BaseApplication):
            def load_config(self) -> None:
                for k, v in {"bind": f"127.0.0.1:{port}", "workers": 1, "threads": 16,
                             "worker_class": "gthread", "loglevel": "warning"}.items():
                    self.cfg.set(k, v)

            def load(self):  # noqa: ANN202
                return app_for(root)

        App().run()
    elif name == "granian wsgi":
        from granian.constants import Interfaces
        from granian.server import Server

        os.environ["BENCH_ROOT"] = root
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        Server("bench_frontdoor:granian_app", port=port, interface=Interfaces.WSGI,
               factory=True, blocking_threads=16, log_enabled=False).serve()


# The client side.
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) of every live process in the server's process group."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 of stat: the process group
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def measure(name: str, size: int, seconds: int) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="labkit-frontdoor-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", name, str(port), str(work)],
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                if requests.get(f"{base}/v2/", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.01)
            if time.monotonic() - t0 > 30:
                raise RuntimeError(f"{name} did not start")
        start_wall, start_cpu = time.monotonic() - t0, group_cpu(proc.pid)
        blob = work / "blob"
        data = os.urandom(1 << 20)
        h = hashlib.sha256()
        with open(blob, "wb") as f:
            for _ in range(size >> 20):
                f.write(data)
                h.update(data)
        digest = "sha256:" + h.hexdigest()
        r = requests.post(f"{base}/v2/{REPO}/blobs/uploads/", timeout=30)
        location = requests.compat.urljoin(base, r.headers["Location"])
        cpu0, w0 = group_cpu(proc.pid), time.monotonic()
        out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-T",
                              str(blob), "-X", "PUT", f"{location}?digest={digest}"],
                             capture_output=True, text=True, timeout=600)
        up_wall, up_cpu = time.monotonic() - w0, group_cpu(proc.pid) - cpu0
        if out.stdout != "201":
            raise RuntimeError(f"{name}: upload answered {out.stdout} {out.stderr}")
        blob.unlink()
        hey = subprocess.run(["hey", "-z", f"{seconds}s", "-c", "16", "-m", "HEAD",
                              f"{base}/v2/{REPO}/blobs/{digest}"], capture_output=True,
                             text=True, timeout=seconds + 60)
        m = re.search(r"Requests/sec:\s+([\d.]+)", hey.stdout)
        return {"start wall s": start_wall, "start cpu s": start_cpu,
                "upload MiB/s": size / (1 << 20) / up_wall,
                "upload cpu s/GiB": up_cpu * (1 << 30) / size,
                "HEAD req/s": float(m.group(1)) if m else 0.0}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        subprocess.run(["rm", "-rf", str(work)], check=False)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve"]:
        serve(argv[1], int(argv[2]), argv[3])
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size-mib", type=int, default=256)
    p.add_argument("--seconds", type=int, default=5)
    p.add_argument("--only", nargs="*", default=None)
    args = p.parse_args(argv)
    cols = ["start wall s", "start cpu s", "upload MiB/s", "upload cpu s/GiB", "HEAD req/s"]
    print(f"| server | {' | '.join(cols)} |\n|---|{'---:|' * len(cols)}")
    for name in CANDIDATES:
        if args.only and not any(o in name for o in args.only):
            continue
        need = NEEDS.get(name)
        if need and importlib.util.find_spec(need) is None:
            print(f"| {name} | not installed ({need}) |", flush=True)
            continue
        try:
            r = measure(name, args.size_mib << 20, args.seconds)
        except Exception as e:  # noqa: BLE001 - one candidate failing is a result too
            print(f"| {name} | failed: {e} |", flush=True)
            continue
        print(f"| {name} | " + " | ".join(f"{r[c]:,.2f}" if r[c] < 100 else f"{r[c]:,.0f}"
                                          for c in cols) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
