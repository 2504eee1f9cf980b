"""Benchmark: HTTP servers for the lab's front door side by side, with CNCF Distribution (as
Debian configures it) as the peer, all in one run, rounds alternating.

    python tests/bench/bench_frontdoor.py [--rounds 3] [--seconds 5] [--images 500]
                                          [--upload-mib 1024] [--only NAME ...]

Each candidate serves the lab's whole WSGI app (`LabApp`, in a copy of one seeded lab home) in
a process of its own, using its server library's documented API only:
- granian's embedded server + the lab's ASGI->WSGI bridge: the lab's front door as shipped
  (`labkit.lab.process.main.serve`);
- uvicorn (`uvicorn.Server`, httptools parser, asyncio loop) + the same bridge;
- hypercorn (`hypercorn.asyncio.serve`) + the same bridge;
- cheroot as documented (`cheroot.wsgi.Server`, its own body readers and timeout).
Per candidate and round: start-up (wall and CPU seconds until the first answer); blob HEAD
and manifest GET requests per second over every seeded object (cold: the first pass after the
start; warm: round and round for `--seconds`); a `--upload-mib` blob uploaded by `curl -T` PUT
(MiB/s, the server's CPU seconds per GiB, its RSS growth: streaming with bounded memory); a
256 MiB chunked PATCH (`curl -T -`); the blob downloaded (`curl -L`); and a client that falls
silent mid-upload (cut within the idle timeout, its upload session free again).
Candidates that are not the lab's dependencies must be installed by hand to be measured
(`pip install uvicorn httptools hypercorn cheroot`); a missing one is listed as such.
Results and the choice they led to: docs/frontdoor.md.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RssSampler, cpu_seconds, log, median, tempdir  # noqa: E402
from _load import blob_heads, manifest_gets, run_load, seed, shuffled, wait_quiet  # noqa: E402
from _serve_candidates import IDLE  # noqa: E402

from tests.conftest import free_port  # noqa: E402
from tests.distribution import running as running_distribution  # noqa: E402

SERVE = Path(__file__).resolve().parent / "_serve_candidates.py"
UPLOAD_REPO = "bench/upload"
CHUNKED_MIB = 256
CANDIDATES = {  # name -> (the module it needs, where it runs, TLS, documented API only)
    "granian 2.8 embedded + bridge (the front door)": (
        "granian", "Linux, macOS, Windows (wheels)", "yes (ssl_cert/ssl_key)", "yes"),
    "uvicorn + httptools + bridge": (
        "uvicorn", "Linux, macOS, Windows (httptools wheels)", "yes (ssl_certfile)", "yes"),
    "hypercorn + bridge": ("hypercorn", "Linux, macOS, Windows (pure Python)",
                           "yes (certfile)", "yes"),
    "cheroot 11 as documented": ("cheroot", "Linux, macOS, Windows (pure Python)",
                                 "yes (ssl_adapter)", "yes"),
}
PEER = "Distribution 2.8 (Debian's configuration)"


# ---- the client side ----

class Running:
    """A server process under test: its address, pid, credentials."""

    def __init__(self, name: str, port: int, pid: int, headers: dict[str, str],
                 stop: Any):
        self.name, self.port, self.pid, self.headers, self._stop = name, port, pid, headers, stop
        self.base = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self._stop()


def wait_answering(base: str, proc: subprocess.Popen[bytes], t0: float) -> float:
    while True:
        try:
            requests.get(f"{base}/v2/", timeout=2)
            return time.perf_counter() - t0
        except requests.ConnectionError:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited ({proc.returncode})") from None
            if time.perf_counter() - t0 > 60:
                raise RuntimeError("the server did not answer within 60 s") from None
            time.sleep(0.005)


def start_candidate(name: str, seeded_home: Path, work: Path, headers: dict[str, str]
                    ) -> tuple[Running, float, float]:
    home = work / "home"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(seeded_home, home)
    port = free_port()
    env = {**os.environ, "LABKIT_IDLE_TIMEOUT": str(IDLE), "LABKIT_LOG_LEVEL": "WARNING"}
    log_file = open(work / f"{name.split()[0]}.log", "ab")  # noqa: SIM115 - closed in stop
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(SERVE), name, str(port), str(home)],
                            stdout=log_file, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    wall = wait_answering(base, proc, t0)
    cpu = cpu_seconds(proc.pid)

    def stop() -> None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log_file.close()

    return Running(name, port, proc.pid, headers, stop), wall, cpu


def start_peer(workdir: Path) -> tuple[Running, float, float, Any]:
    ctx = running_distribution(workdir)
    t0 = time.perf_counter()
    d = ctx.__enter__()
    base = d.url
    wall = wait_answering(base, d.proc, t0)
    cpu = cpu_seconds(d.proc.pid)
    port = int(d.registry.rsplit(":", 1)[1])
    return Running(PEER, port, d.proc.pid, {}, lambda: ctx.__exit__(None, None, None)), wall, cpu, d


def start_upload(s: Running) -> str:
    r = requests.post(f"{s.base}/v2/{UPLOAD_REPO}/blobs/uploads/", headers=s.headers, timeout=30)
    assert r.status_code == 202, r.text
    return requests.compat.urljoin(s.base, r.headers["Location"])


def curl(args: list[str], s: Running, stdin: Any = None) -> tuple[str, float, float]:
    """Run curl; its -w output, wall seconds and the server's CPU seconds meanwhile."""
    auth = []
    if s.headers:
        auth = ["-H", f"Authorization: {s.headers['Authorization']}"]
    cpu0, t0 = cpu_seconds(s.pid), time.perf_counter()
    r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", *auth, *args],
                       stdin=stdin, capture_output=True, text=True, timeout=900)
    return r.stdout + r.stderr, time.perf_counter() - t0, cpu_seconds(s.pid) - cpu0


def silent_client(s: Running) -> tuple[float, bool]:
    """Seconds until a client silent mid-PATCH is answered and cut; then whether its upload
    session takes the next PATCH (it was not held)."""
    location = start_upload(s)
    path = location.removeprefix(s.base)
    head = (f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1:{s.port}\r\nContent-Length: {1 << 20}\r\n"
            f"Content-Range: 0-{(1 << 20) - 1}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in s.headers.items()) + "\r\n").encode()
    with socket.create_connection(("127.0.0.1", s.port), timeout=IDLE * 4) as sock:
        sock.sendall(head + b"x" * 1000)
        t0 = time.perf_counter()
        try:
            while sock.recv(65536):
                pass
            waited = time.perf_counter() - t0
        except TimeoutError:
            waited = float("inf")  # not cut within 4x the idle timeout
    r = requests.patch(location, data=b"y" * 10, timeout=IDLE * 4,
                       headers={**s.headers, "Content-Range": "0-9"})
    return waited, r.status_code == 202


def measure(s: Running, blob: Path, digest: str, size: int, seeded: Any, seconds: int
            ) -> dict[str, float]:
    out: dict[str, float] = {}
    wait_quiet(s.pid)
    registry = f"127.0.0.1:{s.port}"
    heads = shuffled(blob_heads(seeded, registry, s.headers))
    gets = shuffled(manifest_gets(seeded, registry, s.headers))
    loads = {"HEAD/s cold": run_load("127.0.0.1", s.port, heads),
             "GET/s cold": run_load("127.0.0.1", s.port, gets),
             "HEAD/s warm": run_load("127.0.0.1", s.port, heads, seconds=seconds),
             "GET/s warm": run_load("127.0.0.1", s.port, gets, seconds=seconds)}
    out.update({k: v.rate for k, v in loads.items()})
    out["reconnects"] = sum(v.reconnects for v in loads.values())
    location = start_upload(s)
    sep = "&" if "?" in location else "?"
    with RssSampler(s.pid) as rss:
        code, wall, cpu = curl(["-T", str(blob), "-X", "PUT", f"{location}{sep}digest={digest}"],
                               s)
    if not code.startswith("201"):
        raise RuntimeError(f"{s.name}: upload answered {code}")
    out["PUT MiB/s"] = size / (1 << 20) / wall
    out["PUT CPU s/GiB"] = cpu * (1 << 30) / size
    out["PUT RSS growth MiB"] = rss.growth / (1 << 20)
    code, wall, _ = curl(["-L", f"{s.base}/v2/{UPLOAD_REPO}/blobs/{digest}"], s)
    if not code.startswith("200"):
        raise RuntimeError(f"{s.name}: download answered {code}")
    out["GET MiB/s"] = size / (1 << 20) / wall
    location = start_upload(s)
    chunk = CHUNKED_MIB << 20
    feeder = subprocess.Popen(["head", "-c", str(chunk), str(blob)], stdout=subprocess.PIPE)
    code, wall, _ = curl(["-T", "-", "-X", "PATCH", location], s, stdin=feeder.stdout)
    feeder.wait()
    if not code.startswith("202"):
        raise RuntimeError(f"{s.name}: chunked PATCH answered {code}")
    out["PATCH chunked MiB/s"] = CHUNKED_MIB / wall
    waited, released = silent_client(s)
    out["silent client cut after s"] = waited
    out["session free after"] = 1.0 if released else 0.0
    return out


def seed_lab_home(work: Path, images: int) -> tuple[Path, dict[str, str], Any]:
    """A lab home holding `images` images (the lab itself pushes them), stopped."""
    from labkit.lab import process
    from tests.reliability import support

    home = work / "seeded-home"
    lab = process.start(home, port=free_port())
    try:
        ecr = support.ecr(lab)
        repos = [f"bench/fd{i}" for i in range(10)]
        for r in [*repos, UPLOAD_REPO]:
            ecr.create_repository(repositoryName=r)
        auth = support.credentials(lab)
        seeded = seed(lab.endpoint_url, repos, images, auth)
    finally:
        process.stop(home)
    return home, {"Authorization": support.basic_header(*auth)}, (seeded, repos)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=int, default=5)
    p.add_argument("--images", type=int, default=500)
    p.add_argument("--upload-mib", type=int, default=1024)
    p.add_argument("--only", nargs="*", default=None)
    args = p.parse_args(argv)
    names = [n for n in CANDIDATES if not args.only or any(o in n for o in args.only)]
    missing = [n for n in names if importlib.util.find_spec(CANDIDATES[n][0]) is None]
    names = [n for n in names if n not in missing]
    load0 = os.getloadavg()
    runs: dict[str, dict[str, list[float]]] = {n: {} for n in [*names, PEER]}
    with tempdir("frontdoor") as work:
        log("seeding a lab home and Distribution...")
        seeded_home, headers, (seeded, repos) = seed_lab_home(work, args.images)
        size = args.upload_mib << 20
        blob = work / "blob"
        h = hashlib.sha256()
        with open(blob, "wb") as f:
            for _ in range(args.upload_mib):
                block = os.urandom(1 << 20)
                f.write(block)
                h.update(block)
        digest = "sha256:" + h.hexdigest()
        peer_dir = work / "distribution"
        peer, *_ = start_peer(peer_dir)
        try:
            if seed(peer.base, repos, args.images, None) != seeded:
                raise RuntimeError("Distribution was seeded differently")
        finally:
            peer.stop()
        for i in range(args.rounds):
            order = [*names, PEER]
            order = order[i % len(order):] + order[:i % len(order)]  # each goes first in turn
            for name in order:
                log(f"round {i + 1}/{args.rounds}: {name}")
                if name == PEER:
                    s, wall, cpu, _ = start_peer(peer_dir)
                else:
                    s, wall, cpu = start_candidate(name, seeded_home, work / "run", headers)
                try:
                    result = {"start wall s": wall, "start CPU s": cpu,
                              **measure(s, blob, digest, size, seeded, args.seconds)}
                finally:
                    s.stop()
                log("  " + json.dumps({k: round(v, 2) for k, v in result.items()}))
                for k, v in result.items():
                    runs[name].setdefault(k, []).append(v)
    load1 = os.getloadavg()
    report(runs, missing, args, len(seeded.blobs), len(seeded.manifests), load0, load1)
    return 0


def report(runs: dict[str, dict[str, list[float]]], missing: list[str], args: Any,
           blobs: int, manifests: int, load0: tuple[float, ...], load1: tuple[float, ...]
           ) -> None:
    cols = ["start wall s", "start CPU s", "HEAD/s cold", "HEAD/s warm", "GET/s cold",
            "GET/s warm", "PUT MiB/s", "PUT CPU s/GiB", "PUT RSS growth MiB",
            "PATCH chunked MiB/s", "GET MiB/s", "silent client cut after s"]
    print(f"\nmedians of {args.rounds} rounds; {blobs} blobs, {manifests} manifests; "
          f"{args.upload_mib} MiB PUT, {CHUNKED_MIB} MiB chunked PATCH; idle timeout {IDLE:.0f} s"
          f"\n\n| server | {' | '.join(cols)} | session free after silent client |\n"
          f"|---|{'---:|' * len(cols)}---|")
    peer = runs[PEER]
    for name, by in runs.items():
        cells = []
        for c in cols:
            v = median(by.get(c, []))
            cells.append("-" if v != v else "never" if v == float("inf") else
                         f"{v:,.2f}" if v < 100 else f"{v:,.0f}")
        free = by.get("session free after", [])
        print(f"| {name} | {' | '.join(cells)} | "
              f"{'yes' if free and all(free) else 'NO' if free else '-'} |")
    print("\n| server vs Distribution | HEAD/s cold | HEAD/s warm | GET/s cold | GET/s warm | "
          "PUT MiB/s | PATCH chunked MiB/s | runs on | TLS | documented API only |\n"
          "|---|---:|---:|---:|---:|---:|---:|---|---|---|")
    for name, by in runs.items():
        if name == PEER:
            continue
        ratios = [median(by[c]) / median(peer[c]) for c in
                  ("HEAD/s cold", "HEAD/s warm", "GET/s cold", "GET/s warm", "PUT MiB/s",
                   "PATCH chunked MiB/s")]
        _, where, tls, documented = CANDIDATES[name]
        print(f"| {name} | " + " | ".join(f"{r:.2f}x" for r in ratios)
              + f" | {where} | {tls} | {documented} |")
    for name in missing:
        print(f"| {name} | not installed ({CANDIDATES[name][0]}) |")
    print("\nevery round:")
    for name, by in runs.items():
        print(f"  {name}: " + "; ".join(f"{k} " + ", ".join(f"{v:.2f}" for v in vs)
                                        for k, vs in by.items()))
    print(f"load average (1, 5, 15 min): before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, "
          f"after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
