"""Requests per second of the lab for blob HEAD and manifest GET (what `docker pull` and
`docker push` ask most), over keep-alive connections, with CNCF Distribution (configured as
Debian configures it: in-memory blob descriptor cache) in the same run; ratio against the
target (>= 1.5x).

    python tests/bench/load_rps.py [--rounds 3] [--seconds 5] [--images 1000] [--repos 20]
                                   [--connections 16] [--no-hey]

Both registries are seeded with the same `--images` one-layer images (2 blobs and 1 manifest
each) over `--repos` repositories. Each round restarts each registry (alternating which goes
first) and measures, with the keep-alive client of `_load.py`:
- cold: one pass over every blob (HEAD) and every manifest (GET by tag) in a shuffled order,
  right after the start: the first touch of each, with the registry's memos and caches empty;
- warm: the same lists round and round for `--seconds`;
- one URL: a single blob / manifest asked `--seconds` long with `hey` (the old rule of this
  benchmark, kept so that old and new figures can be read side by side).
Prints the medians, every single figure, and the load average before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import median  # noqa: E402
from _load import (  # noqa: E402
    ACCEPT,
    Seeded,
    blob_heads,
    manifest_gets,
    run_load,
    seed,
    shuffled,
    wait_quiet,
)

from labkit.lab import process  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.distribution import running as running_distribution  # noqa: E402
from tests.reliability import support  # noqa: E402

GOAL = 1.5  # issue 12/18: lab/Distribution, blob HEAD and manifest GET, 16 keep-alive connections
ROWS = ["blob HEAD, cold", "blob HEAD, warm", "blob HEAD, one URL (hey)",
        "manifest GET, cold", "manifest GET, warm", "manifest GET, one URL (hey)"]


class Served:
    """One registry under test, restartable on the same data."""

    name = ""
    host = "127.0.0.1"
    port = 0
    pid = 0
    headers: dict[str, str] = {}

    def start(self) -> None: ...

    def stop(self) -> None: ...

    @property
    def registry(self) -> str:
        return f"{self.host}:{self.port}"


class LabServed(Served):
    """A lab; with `tree`, the lab of another labkit checkout (an older commit, say): its
    process is started from that tree (a fresh interpreter, PYTHONPATH and working folder
    there), while this script's own code starts, proves and stops it."""

    def __init__(self, home: Path, tree: Path | None = None):
        self.home, self.tree = home, tree
        self.name = "lab" if tree is None else f"lab of {tree}"

    def start(self) -> None:
        with _from_tree(self.tree):
            lab = process.start(self.home, port=free_port())
        self.port, self.pid = lab.port, lab.pid
        self.endpoint, self.lab = lab.endpoint_url, lab

    def stop(self) -> None:
        process.stop(self.home)


@contextlib.contextmanager
def _from_tree(tree: Path | None) -> Iterator[None]:
    if tree is None:
        yield
        return
    saved, cwd = dict(os.environ), os.getcwd()
    os.environ.update(PYTHONPATH=str(tree), LABKIT_START="portable")
    os.chdir(tree)  # `python -m` puts its working folder first on sys.path
    try:
        yield
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved)


class DistributionServed(Served):
    name = "Distribution"

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self._ctx: contextlib.AbstractContextManager | None = None

    def start(self) -> None:
        self._ctx = running_distribution(self.workdir)
        d = self._ctx.__enter__()
        self.port, self.pid = int(d.registry.rsplit(":", 1)[1]), d.proc.pid

    def stop(self) -> None:
        if self._ctx is not None:
            self._ctx.__exit__(None, None, None)
            self._ctx = None


def hey(url: str, method: str, headers: dict[str, str], seconds: int, conns: int) -> float:
    cmd = ["hey", "-z", f"{seconds}s", "-c", str(conns), "-m", method]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    r = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    codes = re.findall(r"\[(\d{3})\]\s+\d+ responses", r.stdout)
    if not m or any(not c.startswith("2") for c in codes):
        raise RuntimeError(f"hey failed or saw errors:\n{r.stdout}\n{r.stderr}")
    return float(m.group(1))


def measure(s: Served, seeded: Seeded, seconds: int, conns: int, use_hey: bool
            ) -> dict[str, float]:
    """Start `s` afresh, wait until it is quiet, then every row once."""
    s.start()
    try:
        wait_quiet(s.pid)
        heads = shuffled(blob_heads(seeded, s.registry, s.headers))
        gets = shuffled(manifest_gets(seeded, s.registry, s.headers))
        out = {
            "blob HEAD, cold": run_load(s.host, s.port, heads, conns).rate,
            "manifest GET, cold": run_load(s.host, s.port, gets, conns).rate,
            "blob HEAD, warm": run_load(s.host, s.port, heads, conns, seconds).rate,
            "manifest GET, warm": run_load(s.host, s.port, gets, conns, seconds).rate,
        }
        if use_hey:
            base = f"http://{s.registry}"
            (repo, digest), (mrepo, tag) = seeded.blobs[0], seeded.manifests[0]
            out["blob HEAD, one URL (hey)"] = hey(f"{base}/v2/{repo}/blobs/{digest}", "HEAD",
                                                  s.headers, seconds, conns)
            out["manifest GET, one URL (hey)"] = hey(f"{base}/v2/{mrepo}/manifests/{tag}",
                                                     "GET", {**s.headers, "Accept": ACCEPT},
                                                     seconds, conns)
        print(f"  {s.name}: " + ", ".join(f"{k} {v:,.0f}/s" for k, v in out.items()),
              file=sys.stderr, flush=True)
        return out
    finally:
        s.stop()


@contextlib.contextmanager
def registries(work: Path, images: int, repo_count: int, also: Path | None = None
               ) -> Iterator[tuple[list[Served], Seeded]]:
    """The lab and Distribution, each seeded once with the same images (then stopped); with
    `also`, the lab of that tree too, on a copy of the seeded lab home."""
    repos = [f"bench/rps{i}" for i in range(repo_count)]
    lab = LabServed(work / "lab-home")
    lab.start()
    try:
        ecr = support.ecr(lab.lab)
        for r in repos:
            ecr.create_repository(repositoryName=r)
        auth = support.credentials(lab.lab)  # valid across restarts: same home, same secret
        lab.headers = {"Authorization": support.basic_header(*auth)}
        print(f"seeding {images} images into the lab...", file=sys.stderr, flush=True)
        seeded = seed(lab.endpoint, repos, images, auth)
    finally:
        lab.stop()
    dist = DistributionServed(work / "distribution")
    dist.start()
    try:
        print(f"seeding {images} images into Distribution...", file=sys.stderr, flush=True)
        if seed(f"http://{dist.registry}", repos, images, None) != seeded:
            raise RuntimeError("the two registries were seeded differently")
    finally:
        dist.stop()
    served: list[Served] = [lab, dist]
    if also is not None:
        other = LabServed(work / "other-lab-home", also)
        shutil.copytree(lab.home, other.home)
        other.headers = lab.headers
        served.insert(1, other)
    yield served, seeded


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=int, default=5)
    p.add_argument("--images", type=int, default=1000)
    p.add_argument("--repos", type=int, default=20)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--no-hey", action="store_true", help="skip the one-URL rows")
    p.add_argument("--also-lab", type=Path, default=None, metavar="TREE",
                   help="also measure the lab of another labkit checkout (e.g. the last commit "
                        "before a change), in the same rounds")
    args = p.parse_args(argv)
    if not shutil.which("docker-registry"):
        print("needs docker-registry (Debian's CNCF Distribution)", file=sys.stderr)
        return 1
    use_hey = not args.no_hey and shutil.which("hey") is not None
    load0 = os.getloadavg()
    runs: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="labkit-rps-") as tmp:
        with registries(Path(tmp), args.images, args.repos, args.also_lab) as (served, seeded):
            for s in served:
                runs[s.name] = {}
            for i in range(args.rounds):
                k = i % len(served)
                order = served[k:] + served[:k]  # each goes first in turn
                print(f"round {i + 1}/{args.rounds}", file=sys.stderr, flush=True)
                for s in order:
                    for row, value in measure(s, seeded, args.seconds, args.connections,
                                              use_hey).items():
                        runs[s.name].setdefault(row, []).append(value)
    load1 = os.getloadavg()
    rows = [r for r in ROWS if r in runs["lab"]]
    print(f"\n{len(seeded.blobs)} blobs and {len(seeded.manifests)} manifests in {args.repos} "
          f"repositories; {args.connections} keep-alive connections; {args.seconds} s per warm "
          f"row; median of {args.rounds} rounds; {os.cpu_count()} cores shared by client and "
          "server\n")
    labs = [name for name in runs if name != "Distribution"]
    print("| requests per second | " + " | ".join(labs) + " | Distribution | "
          + " | ".join(f"{name}/Distribution" for name in labs) + f" (target >= {GOAL}x) |")
    print("|---|" + "---:|" * (2 * len(labs) + 1))
    for row in rows:
        dist = median(runs["Distribution"][row])
        figures = [median(runs[name][row]) for name in labs]
        print(f"| {row} | " + " | ".join(f"{v:,.0f}" for v in figures) + f" | {dist:,.0f} | "
              + " | ".join(f"{v / dist:.2f}x {'met' if v / dist >= GOAL else 'MISSED'}"
                           for v in figures) + " |")
    print("\nevery round (req/s):")
    for name, by_row in runs.items():
        for row in rows:
            print(f"  {name}, {row}: " + ", ".join(f"{v:,.0f}" for v in by_row[row]))
    print(f"load average (1, 5, 15 min): before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, "
          f"after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
