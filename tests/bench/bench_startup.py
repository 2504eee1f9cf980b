"""Benchmark: `labkit lab up` to the first CreateRepository answered, next to moto's own server.

    python tests/bench/bench_startup.py [--reps 5] [--method fork|portable|both]

Starts the lab with `labkit lab up` (fork, the POSIX default, and/or `LABKIT_START=portable`,
a fresh interpreter as on Windows) and `moto_server`, alternating, and times each until a boto3
client (built before the clock starts, polling every 10 ms) gets its first CreateRepository
answer: wall seconds, and the CPU seconds of the server process until then (utime + stime of
`/proc/PID/stat`; for the lab, its own process, not the CLI that started it). Prints each run
and the medians; target (issue 12): the lab's CPU <= 0.5 s. Before the runs it byte-compiles
the `labkit` package it starts (as `pip install` does for a learner): from a source checkout
with PYTHONDONTWRITEBYTECODE set, the lab would otherwise compile ~40 modules on every start
(about 0.15 s of CPU that no installed kit pays). `bench_registry.py` runs the same
measurement (fork path) as its start-up section.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cpu_seconds, ecr_client, free_port, load_note, log, median, tempdir  # noqa: E402

STARTUP_CPU_GOAL = 0.5  # s of the lab process's CPU, `labkit lab up` -> first CreateRepository


def _first_create(endpoint: str, proc: subprocess.Popen, name: str, t0: float,
                  timeout: float = 30) -> float:
    """Seconds from t0 until CreateRepository succeeds (polling every 10 ms)."""
    from botocore.exceptions import EndpointConnectionError

    client = ecr_client(endpoint, "us-east-1", retries=1)
    client.meta.events  # noqa: B018 - client fully built before the clock matters
    deadline = t0 + timeout
    while time.perf_counter() < deadline:
        try:
            client.create_repository(repositoryName=name)
            return time.perf_counter() - t0
        except EndpointConnectionError:
            if proc.poll() not in (None, 0):
                raise RuntimeError(f"{proc.args[:3]} exited with {proc.returncode}") from None
            time.sleep(0.01)
    raise RuntimeError(f"no CreateRepository answered at {endpoint} within {timeout}s")


def lab_startup(work: Path, i: int, method: str = "fork") -> tuple[float, float]:
    """Wall seconds from starting `labkit lab up` to the first CreateRepository answered, and
    the CPU seconds the lab process spent until then (the CLI that started it not counted:
    it exits once the lab is ready)."""
    from labkit.lab import process

    home, port = work / f"startup-{method}-{i}", free_port()
    endpoint = f"http://127.0.0.1:{port}"
    labkit = shutil.which("labkit") or str(Path(sys.executable).with_name("labkit"))
    cmd = [labkit] if Path(labkit).exists() else [sys.executable, "-m", "labkit"]
    env = {**os.environ, "LABKIT_START": method}
    t0 = time.perf_counter()
    proc = subprocess.Popen([*cmd, "lab", "up", "--port", str(port), "--home", str(home)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        wall = _first_create(endpoint, proc, f"startup-{i}", t0)
        lab_cpu = cpu_seconds(json.loads((home / "lab.json").read_text())["pid"])
        proc.wait(30)
        return wall, lab_cpu
    finally:
        if proc.poll() is None:
            proc.wait(30)
        process.stop(home)


def moto_startup(i: int) -> tuple[float, float]:
    """The same for moto's own server (`moto_server`, the console script moto installs)."""
    port = free_port()
    moto = Path(sys.executable).with_name("moto_server")
    cmd = [str(moto)] if moto.exists() else [sys.executable, "-m", "moto.server"]
    t0 = time.perf_counter()
    proc = subprocess.Popen([*cmd, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wall = _first_create(f"http://127.0.0.1:{port}", proc, f"moto-{i}", t0)
        return wall, cpu_seconds(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


def measure(work: Path, reps: int, methods: list[str]) -> dict[str, list[tuple[float, float]]]:
    """Each repetition starts every lab method and moto once, one after the other."""
    runs: dict[str, list[tuple[float, float]]] = {m: [] for m in [*methods, "moto_server"]}
    for i in range(reps):
        log(f"start-up repetition {i + 1}/{reps}")
        for m in methods:
            runs[m].append(lab_startup(work, i, m))
        runs["moto_server"].append(moto_startup(i))
    return runs


def report(runs: dict[str, list[tuple[float, float]]]) -> None:
    moto_cpu = median([c for _, c in runs["moto_server"]])
    print("| start -> first CreateRepository | wall (median) | server CPU (median) | "
          "CPU / moto_server | target | |")
    print("|---|---|---|---|---|---|")
    for who, values in runs.items():
        wall, cpu = median([w for w, _ in values]), median([c for _, c in values])
        lab = who != "moto_server"
        name = f"`labkit lab up` ({who})" if lab else "moto_server (reference)"
        verdict = ("met" if cpu <= STARTUP_CPU_GOAL else "MISSED") if lab else ""
        print(f"| {name} | {wall:.2f} s | {cpu:.2f} s | {cpu / moto_cpu:.2f}x | "
              f"{f'<= {STARTUP_CPU_GOAL} s CPU' if lab else ''} | {verdict} |")
    print("\nall runs (wall s / CPU s):")
    for who, values in runs.items():
        print(f"  {who}: " + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in values))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=5, help="repetitions (median reported)")
    p.add_argument("--method", choices=["fork", "portable", "both"], default="both")
    args = p.parse_args(argv)
    methods = ["fork", "portable"] if args.method == "both" else [args.method]
    import labkit

    compileall.compile_dir(Path(labkit.__file__).parent, quiet=1)  # what pip does on install
    load0 = os.getloadavg()[0]
    with tempdir("startup") as work:
        runs = measure(work, args.reps, methods)
    report(runs)
    print(load_note(load0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
