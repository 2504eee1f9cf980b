"""Benchmark: the lab's registry against CNCF Distribution, same machine, same run, same bytes.

    python tests/bench/bench_registry.py [--size-mib 256] [--reps 3] [--big-mib 1024]

Times push and pull of a one-layer image of random bytes with the docker CLI, skopeo and curl
(raw blob upload/download) against the lab and against Distribution (Debian's docker-registry),
and prints MiB/s and the lab/Distribution ratio next to the targets of issue 2; then the lab's
memory growth while it receives a big layer, and the time from `labkit lab up` to the first
CreateRepository answered (Distribution's start and a bare `import labkit` for reference).
Each timing is the median of --reps runs; every run uses a fresh image, so no layer is ever
"already there" or mountable.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402 - the benchmark's own helpers, next to this file
    Image,
    MiB,
    Registry,
    Row,
    RssSampler,
    check_layer_gzip,
    children_cpu_seconds,
    cpu_seconds,
    distribution,
    docker_answers,
    lab,
    load_note,
    log,
    make_image,
    median,
    print_table,
    require,
    run,
    tempdir,
    throughput_row,
    write_docker_archive,
    write_oci_layout,
)
from bench_startup import STARTUP_CPU_GOAL  # noqa: E402
from bench_startup import measure as measure_startup  # noqa: E402
from bench_startup import rows as startup_rows  # noqa: E402

# Targets of issue 12 (keep-alive front door); the rows it does not name keep issue 2's.
GOALS = {"curl PUT upload": 3.0, "curl PATCH upload (chunked)": 2.0, "skopeo push": 2.0,
         "curl GET download": 1.5, "skopeo pull": 1.0, "docker push": 1.0,
         "docker pull": 1.0}
RECEIVE_CPU_GOAL = 1.5  # lab CPU per GiB received <= 1.5x sha256 + a plain file write
HEADERS = ["measure", "lab", "Distribution", "lab/Distribution", "target", ""]


class Results:
    """Wall-clock seconds and the registry's own CPU seconds, per (measure, registry)."""

    def __init__(self) -> None:
        self.times: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.cpu: dict[tuple[str, str], list[float]] = defaultdict(list)

    def record(self, what: str, reg: Registry, transfer: Callable[..., float], *args: Any
               ) -> None:
        """Run one timed transfer, `transfer(reg, *args)`, and note the registry's CPU for it."""
        c0 = cpu_seconds(reg.pid)
        self.times[(what, reg.name)].append(transfer(reg, *args))
        self.cpu[(what, reg.name)].append(cpu_seconds(reg.pid) - c0)


# --- curl: raw blob upload and download ------------------------------------------------------
def _start_upload(reg: Registry, repo: str) -> str:
    r = requests.post(f"http://{reg.host}/v2/{repo}/blobs/uploads/", headers=reg.auth_header(),
                      timeout=30)
    if r.status_code != 202:
        raise RuntimeError(f"{reg.name}: POST upload answered {r.status_code}: {r.text[:300]}")
    location = r.headers["Location"]
    return location if "://" in location else f"http://{reg.host}{location}"


def _with_digest(url: str, digest: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}digest={digest}"


def _curl(reg: Registry, *args: str) -> tuple[int, str, str]:
    """curl with the registry's credentials; returns (status, Location, size_download)."""
    out = run(["curl", "-sS", "-o", "/dev/null", "-H", "Expect:", *reg.curl_auth(),
               "-w", "%{http_code} %{size_download} %header{location}", *args])
    status, size, location = (out + " ").split(" ", 2)
    return int(status), location.strip(), size


def curl_put(reg: Registry, repo: str, image: Image) -> float:
    """POST a session, then one monolithic PUT ?digest= carrying the whole blob (-T file)."""
    url = _with_digest(_start_upload(reg, repo), image.layer_digest)
    t0 = time.perf_counter()
    status, _, _ = _curl(reg, "-X", "PUT", "-T", str(image.layer),
                         "-H", "Content-Type: application/octet-stream", url)
    dt = time.perf_counter() - t0
    if status != 201:
        raise RuntimeError(f"{reg.name}: curl PUT answered {status}")
    return dt


def curl_patch(reg: Registry, repo: str, image: Image) -> float:
    """POST a session, stream the blob in one chunked PATCH (-T - from stdin), PUT ?digest=."""
    url = _start_upload(reg, repo)
    t0 = time.perf_counter()
    with open(image.layer, "rb") as f:
        out = subprocess.run(
            ["curl", "-sS", "-o", "/dev/null", "-H", "Expect:", *reg.curl_auth(),
             "-X", "PATCH", "-T", "-", "-H", "Content-Type: application/octet-stream",
             "-w", "%{http_code}|%header{location}", url],
            stdin=f, capture_output=True, check=True).stdout.decode()
    status, location = out.split("|", 1)
    if status != "202":
        raise RuntimeError(f"{reg.name}: curl PATCH answered {status}")
    location = location.strip()
    location = location if "://" in location else f"http://{reg.host}{location}"
    status2, _, _ = _curl(reg, "-X", "PUT", "-H", "Content-Length: 0",
                          _with_digest(location, image.layer_digest))
    dt = time.perf_counter() - t0
    if status2 != 201:
        raise RuntimeError(f"{reg.name}: final PUT answered {status2}")
    return dt


def curl_get(reg: Registry, repo: str, image: Image) -> float:
    """GET the blob following redirects (the lab's 307 to its pre-signed storage URL)."""
    t0 = time.perf_counter()
    status, _, size = _curl(reg, "-L", f"http://{reg.host}/v2/{repo}/blobs/{image.layer_digest}")
    dt = time.perf_counter() - t0
    if status != 200 or int(size) != image.layer_size:
        raise RuntimeError(f"{reg.name}: curl GET answered {status} with {size} bytes")
    return dt


# --- skopeo ----------------------------------------------------------------------------------
def skopeo_push(reg: Registry, repo: str, layout: str) -> float:
    creds = ["--dest-creds", reg.creds] if reg.creds else []
    return _timed_run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", *creds, layout,
                       f"docker://{reg.host}/{repo}:v1"])


def skopeo_pull(reg: Registry, repo: str, dest: Path) -> float:
    creds = ["--src-creds", reg.creds] if reg.creds else []
    try:
        return _timed_run(["skopeo", "copy", "--quiet", "--src-tls-verify=false", *creds,
                           f"docker://{reg.host}/{repo}:v1", f"oci:{dest}:bench"])
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def skopeo_local(layout: str, dest: Path) -> float:
    """skopeo copying the layout to another layout, no registry: the client's own ceiling."""
    try:
        return _timed_run(["skopeo", "copy", "--quiet", layout, f"oci:{dest}:bench"])
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def _timed_run(cmd: list[str], env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    run(cmd, env=env)
    return time.perf_counter() - t0


# --- docker CLI ------------------------------------------------------------------------------
def docker_round(regs: list[Registry], image: Image, rep: int, work: Path,
                 env: dict[str, str], results: Results) -> None:
    """docker load, tag, push to each registry; rmi; pull from each (rmi after each pull)."""
    source = f"labkit-bench-src:{rep}"
    archive = write_docker_archive(image, work / f"docker-{rep}.tar", source)
    run(["docker", "load", "-q", "-i", str(archive)], env=env)
    archive.unlink()
    refs = {}
    try:
        for reg in regs:
            repo = f"bench/docker-{rep}"
            reg.create_repo(repo)
            refs[reg.name] = f"{reg.host}/{repo}:v1"
            run(["docker", "tag", source, refs[reg.name]], env=env)
            results.record("docker push", reg, _docker, ["push", refs[reg.name]], env, "Pushed")
    finally:
        subprocess.run(["docker", "rmi", "-f", source, *refs.values()], env=env,
                       capture_output=True)
    for reg in regs:
        results.record("docker pull", reg, _docker, ["pull", refs[reg.name]], env,
                       "Downloaded newer image")
        subprocess.run(["docker", "rmi", "-f", refs[reg.name]], env=env, capture_output=True)


def _docker(reg: Registry, args: list[str], env: dict[str, str], expect: str) -> float:
    """Time one docker CLI command; its output must show that the layer really travelled."""
    t0 = time.perf_counter()
    out = run(["docker", *args], env=env)
    dt = time.perf_counter() - t0
    if expect not in out:
        raise RuntimeError(f"docker {' '.join(args)}: no {expect!r} in its output:\n{out}")
    return dt


# --- memory and start-up ---------------------------------------------------------------------
def random_file(path: Path, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            block = os.urandom(min(8 * MiB, left))
            f.write(block)
            h.update(block)
            left -= len(block)
    return f"sha256:{h.hexdigest()}"


def memory_growth(reg: Registry, path: Path, digest: str, size: int) -> tuple[int, int, float]:
    """(baseline RSS, growth, seconds) of the registry process while it receives `path`."""
    reg.create_repo("bench/memory")
    url = _with_digest(_start_upload(reg, "bench/memory"), digest)
    with RssSampler(reg.pid) as rss:
        t0 = time.perf_counter()
        status, _, _ = _curl(reg, "-X", "PUT", "-T", str(path), url)
        dt = time.perf_counter() - t0
    if status != 201:
        raise RuntimeError(f"{reg.name}: big PUT answered {status}")
    return rss.baseline, rss.growth, dt


def receive_cpu(results: Results, layer: Path, size: int, work: Path
                ) -> tuple[float, float, float]:
    """CPU seconds per GiB: the lab receiving a blob (its curl PUT), next to the least any
    receiver must do with the same bytes: sha256 them and write them to a file, timed as
    `sha256sum` + `cp` (coreutils) and as OpenSSL's sha256 (what the lab uses) + `cp`."""
    per_gib = (1 << 30) / size

    def child_cpu(cmd: list[str]) -> float:
        c0 = children_cpu_seconds()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return children_cpu_seconds() - c0

    copy = child_cpu(["cp", str(layer), str(work / "receive-copy")])
    (work / "receive-copy").unlink()
    sha = child_cpu(["sha256sum", str(layer)])
    ossl = child_cpu([sys.executable, "-c", "import hashlib,sys\n"
                      "h=hashlib.sha256(); f=open(sys.argv[1],'rb')\n"
                      "while b := f.read(1 << 20): h.update(b)", str(layer)])
    lab_cpu = median(results.cpu[("curl PUT upload", "lab")])
    return lab_cpu * per_gib, (sha + copy) * per_gib, (ossl + copy) * per_gib


# --- the run ---------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size-mib", type=int, default=256, help="layer size for push/pull")
    p.add_argument("--reps", type=int, default=3, help="repetitions (median reported)")
    p.add_argument("--big-mib", type=int, default=1024, help="layer size for the memory check")
    p.add_argument("--skip", action="append", default=[],
                   choices=["docker", "skopeo", "curl", "memory", "startup"])
    args = p.parse_args(argv)
    require("docker-registry", "curl", *(["skopeo"] if "skopeo" not in args.skip else []))
    if "docker" not in args.skip and not docker_answers():
        print("no Docker Engine answers: docker CLI rows skipped", file=sys.stderr)
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            return 1
        args.skip.append("docker")
    size = args.size_mib * MiB
    results = Results()
    times = results.times
    ceiling: list[float] = []  # skopeo oci -> oci, no registry
    receive: tuple[float, float, float] | None = None
    extra: list[Row] = []
    started, load0 = time.perf_counter(), os.getloadavg()[0]
    with tempdir("registry") as work, lab(work) as the_lab, distribution(work) as dist:
        docker_env = {**os.environ, "DOCKER_CONFIG": str(work / "docker-config")}
        if "docker" not in args.skip:
            run(["docker", "login", "--username", the_lab.user, "--password-stdin",
                 the_lab.host], env=docker_env, stdin=the_lab.password.encode())
        for rep in range(args.reps):
            log(f"repetition {rep + 1}/{args.reps}: making a {args.size_mib} MiB image")
            image = make_image(work / f"image-{rep}", size, label=f"rep{rep}")
            check_layer_gzip(image.layer)
            layout = write_oci_layout(image, work / f"layout-{rep}")
            regs = [the_lab, dist] if rep % 2 == 0 else [dist, the_lab]  # alternate who is first
            for reg in regs:
                if "curl" not in args.skip:
                    log(f"  curl vs {reg.name}")
                    reg.create_repo(f"bench/curl-{rep}")
                    results.record("curl PUT upload", reg, curl_put, f"bench/curl-{rep}", image)
                    reg.create_repo(f"bench/curl-patch-{rep}")
                    results.record("curl PATCH upload (chunked)", reg, curl_patch,
                                   f"bench/curl-patch-{rep}", image)
                    results.record("curl GET download", reg, curl_get, f"bench/curl-{rep}",
                                   image)
                if "skopeo" not in args.skip:
                    log(f"  skopeo vs {reg.name}")
                    reg.create_repo(f"bench/skopeo-{rep}")
                    results.record("skopeo push", reg, skopeo_push, f"bench/skopeo-{rep}",
                                   layout)
                    results.record("skopeo pull", reg, skopeo_pull, f"bench/skopeo-{rep}",
                                   work / f"pulled-{rep}")
            if "skopeo" not in args.skip:
                ceiling.append(skopeo_local(layout, work / f"local-{rep}"))
            if "docker" not in args.skip:
                log(f"  docker CLI vs {', '.join(r.name for r in regs)}")
                docker_round(regs, image, rep, work, docker_env, results)
            if rep == 0 and "curl" not in args.skip:
                receive = receive_cpu(results, image.layer, size, work)
            shutil.rmtree(work / f"image-{rep}")
            shutil.rmtree(work / f"layout-{rep}")
        if "memory" not in args.skip:
            big = args.big_mib * MiB
            log(f"memory: {args.big_mib} MiB layer into each registry")
            path = work / "big.bin"
            digest = random_file(path, big)
            for reg in (the_lab, dist):
                base, growth, dt = memory_growth(reg, path, digest, big)
                log(f"  {reg.name}: RSS {base / MiB:.0f} MiB at start, +{growth / MiB:.1f} MiB, "
                    f"{big / MiB / dt:.0f} MiB/s")
                extra.append(Row(f"RSS growth, {args.big_mib} MiB upload ({reg.name})",
                                 growth / MiB, None, "MiB", "< 64 MiB" if reg is the_lab else "",
                                 growth < 64 * MiB if reg is the_lab else None))
            path.unlink()
    if "startup" not in args.skip:
        log("start-up: `labkit lab up` to the first CreateRepository; Distribution; import")
        with tempdir("startup") as work:
            runs = measure_startup(work, args.reps, ["fork"])
        for name, wall, cpu, against, verdict in startup_rows(runs):
            extra.append(Row(f"{name}, wall", wall, None, "s", "(busy machine: see CPU)", None))
            extra.append(Row(f"{name}, process CPU{f' ({against})' if against else ''}", cpu,
                             None, "s", f"<= {STARTUP_CPU_GOAL} s" if verdict else "(reference)",
                             verdict == "met" if verdict else None))
        for who, values in runs.items():
            print(f"start-up {who}: wall {' '.join(f'{w:.2f}' for w, _ in values)}, "
                  f"cpu {' '.join(f'{c:.2f}' for _, c in values)}")
    if receive:
        lab_cpu, sha, ossl = receive
        extra.append(Row("lab CPU per GiB received (curl PUT); peer: sha256sum + cp", lab_cpu, sha, "s/GiB",
                         f"<= {RECEIVE_CPU_GOAL}x sha256sum + write",
                         lab_cpu <= RECEIVE_CPU_GOAL * sha))
        extra.append(Row("lab CPU per GiB received; peer: OpenSSL sha256 + cp", lab_cpu, ossl, "s/GiB",
                         "(reference: the lab hashes with OpenSSL)", None))
    rows = [throughput_row(f"{what} ({args.size_mib} MiB)", median(times[(what, "lab")]),
                           median(times[(what, "distribution")]), size, goal)
            for what, goal in GOALS.items() if (what, "lab") in times]
    if rows:
        print_table(f"Registry throughput, median of {args.reps} (lab vs CNCF Distribution "
                    "2.8)", rows, HEADERS)
    if ceiling:
        print(f"\nreference: skopeo copy oci -> oci (no registry) {size / MiB / median(ceiling):.1f} "
              "MiB/s: no registry can make skopeo faster than this")
    cpu_rows = [Row(f"{what} ({args.size_mib} MiB)", median(results.cpu[(what, "lab")]),
                    median(results.cpu[(what, "distribution")]), "s", "", None)
                for what in GOALS if (what, "lab") in results.cpu]
    if cpu_rows:
        print_table("Registry process CPU seconds per transfer, median (lower is leaner; "
                    "less sensitive to machine load than MiB/s)", cpu_rows, HEADERS)
    if extra:
        print_table("Memory and start-up", extra,
                    ["measure", "lab", "peer", "lab/peer", "target", ""])
    print("\nall runs (seconds):")
    for (what, who), values in sorted(times.items()):
        cpu = " ".join(f"{v:.2f}" for v in results.cpu[(what, who)])
        print(f"  {what:28} {who:13} wall {' '.join(f'{v:.2f}' for v in values)}"
              f"   cpu {cpu}")
    print(f"\ntotal {time.perf_counter() - started:.0f} s; {load_note(load0)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
