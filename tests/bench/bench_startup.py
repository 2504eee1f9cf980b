"""Benchmark: `labkit lab up` to the first CreateRepository answered, next to CNCF Distribution's
start and a bare `python -c "import labkit"`.

    python tests/bench/bench_startup.py [--reps 5] [--method fork|portable|both]

Starts the lab with `labkit lab up` (fork, the POSIX default, and/or `LABKIT_START=portable`,
a fresh interpreter as on Windows) and times it until a boto3 client (built before the clock
starts, polling every 10 ms) gets its first CreateRepository answer: wall seconds, and the CPU
seconds of the lab process until then (utime + stime of `/proc/PID/stat`; the lab's own
process, not the CLI that started it). In the same repetition, one after the other:
- Distribution (Debian's `docker-registry serve`, configured as `tests/distribution.py` runs it)
  until its first answer to `GET /v2/` (polled every 10 ms), and its CPU seconds until then;
- `python -c "import labkit"`: the interpreter's start plus the package's import, the floor
  any Python lab pays (wall, and its CPU from the children's rusage).
Prints each run and the medians; target (issue 12): the lab's CPU <= 0.5 s. Before the runs it
byte-compiles the `labkit` package it starts (as `pip install` does for a learner): from a
source checkout with PYTHONDONTWRITEBYTECODE set, the lab would otherwise compile ~40 modules
on every start (about 0.15 s of CPU that no installed kit pays). `bench_registry.py` runs the
same measurement (fork path) as its start-up section.
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

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    children_cpu_seconds,
    cpu_seconds,
    ecr_client,
    free_port,
    load_note,
    log,
    median,
    tempdir,
)

from tests.distribution import CONFIG as DISTRIBUTION_CONFIG  # noqa: E402

STARTUP_CPU_GOAL = 0.5  # s of the lab process's CPU, `labkit lab up` -> first CreateRepository
DISTRIBUTION = "Distribution 2.8"
IMPORT = 'python -c "import labkit"'
Runs = dict[str, list[tuple[float, float]]]


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


def distribution_startup(work: Path, i: int) -> tuple[float, float]:
    """The same for Distribution: `docker-registry serve` to its first answer of GET /v2/."""
    folder, port = work / f"distribution-{i}", free_port()
    folder.mkdir(parents=True)
    config = folder / "config.yml"
    config.write_text(DISTRIBUTION_CONFIG.format(root=folder / "data", port=port))
    session = requests.Session()  # built before the clock starts, as boto3's client is
    t0 = time.perf_counter()
    proc = subprocess.Popen(["docker-registry", "serve", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                r = session.get(f"http://127.0.0.1:{port}/v2/", timeout=5)
                if r.status_code == 200:
                    return time.perf_counter() - t0, cpu_seconds(proc.pid)
            except requests.ConnectionError:
                if proc.poll() is not None:
                    raise RuntimeError(f"docker-registry exited with {proc.returncode}") \
                        from None
            if time.perf_counter() - t0 > 30:
                raise RuntimeError("docker-registry did not answer within 30 s")
            time.sleep(0.01)
    finally:
        proc.terminate()
        proc.wait(10)


def import_startup() -> tuple[float, float]:
    """`python -c "import labkit"`: wall seconds and CPU seconds (the child's rusage)."""
    cpu0, t0 = children_cpu_seconds(), time.perf_counter()
    subprocess.run([sys.executable, "-c", "import labkit"], check=True)
    return time.perf_counter() - t0, children_cpu_seconds() - cpu0


def measure(work: Path, reps: int, methods: list[str]) -> Runs:
    """Each repetition starts every lab method, Distribution and the bare import once."""
    runs: Runs = {m: [] for m in [*methods, DISTRIBUTION, IMPORT]}
    have_distribution = shutil.which("docker-registry") is not None
    if not have_distribution:
        del runs[DISTRIBUTION]
    for i in range(reps):
        log(f"start-up repetition {i + 1}/{reps}")
        for m in methods:
            runs[m].append(lab_startup(work, i, m))
        if have_distribution:
            runs[DISTRIBUTION].append(distribution_startup(work, i))
        runs[IMPORT].append(import_startup())
    return runs


def rows(runs: Runs) -> list[tuple[str, float, float, str, str]]:
    """(who, wall, CPU, CPU against the references, verdict) from the medians."""
    cpu = {who: median([c for _, c in v]) for who, v in runs.items()}
    out = []
    for who, values in runs.items():
        wall = median([w for w, _ in values])
        lab = who not in (DISTRIBUTION, IMPORT)
        against = ""
        if lab:
            refs = [f"{cpu[who] / cpu[r]:.1f}x {'Distribution' if r == DISTRIBUTION else 'import'}"
                    for r in (DISTRIBUTION, IMPORT) if r in cpu and cpu[r] > 0]
            against = ", ".join(refs)
        verdict = ("met" if cpu[who] <= STARTUP_CPU_GOAL else "MISSED") if lab else ""
        name = f"`labkit lab up` ({who}) -> CreateRepository" if lab else (
            f"{who} -> first answer (reference)" if who == DISTRIBUTION else
            f"`{who}` (reference)")
        out.append((name, wall, cpu[who], against, verdict))
    return out


def report(runs: Runs) -> None:
    print("| start-up | wall (median) | process CPU (median) | CPU / Distribution, / import | "
          "target | |")
    print("|---|---|---|---|---|---|")
    for name, wall, cpu, against, verdict in rows(runs):
        target = f"<= {STARTUP_CPU_GOAL} s CPU" if verdict else ""
        print(f"| {name} | {wall:.2f} s | {cpu:.2f} s | {against} | {target} | {verdict} |")
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
