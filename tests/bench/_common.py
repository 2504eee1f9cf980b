"""Shared parts of the benchmarks: registries to run, images to move, clocks and tables.

Nothing here mocks anything: the lab and CNCF Distribution are real processes on loopback
ports, the images are real OCI layouts / docker archives written from random bytes (so no
client can compress them), and every figure comes from a real client moving real bytes.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the tests' shared helpers (tests.conftest, tests.distribution)

from labkit.oci import digest as dg  # noqa: E402
from labkit.oci import manifest as mf  # noqa: E402
from labkit.oci import mediatypes as mt  # noqa: E402
from tests.conftest import (  # noqa: E402,F401 - docker_answers, free_port: re-exported
    docker_answers,
    free_port,
    registry_credentials,
)
from tests.distribution import running as running_distribution  # noqa: E402

MiB = 1 << 20
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


# --- small utilities ------------------------------------------------------------------------
def require(*tools: str) -> None:
    """Exit with a reason when a tool is missing (a failure under CI=true, where all must be)."""
    missing = [t for t in tools if shutil.which(t) is None]
    if not missing:
        return
    print(f"benchmark needs {', '.join(missing)} (not found on PATH)", file=sys.stderr)
    sys.exit(1 if IN_CI else 0)


def run(cmd: list[str], env: dict[str, str] | None = None, stdin: bytes | None = None,
        timeout: float = 600) -> str:
    """Run a command; raise with its output when it fails (a benchmark must not hide errors)."""
    r = subprocess.run(cmd, env=env, input=stdin, capture_output=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])}... failed ({r.returncode}):\n"
                           f"{r.stdout.decode(errors='replace')[-2000:]}"
                           f"{r.stderr.decode(errors='replace')[-2000:]}")
    return r.stdout.decode(errors="replace")


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@contextlib.contextmanager
def tempdir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"labkit-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- registries -----------------------------------------------------------------------------
@dataclass
class Registry:
    """One registry under test: its address, its credentials and how to create a repository."""

    name: str
    host: str  # 127.0.0.1:PORT
    create_repo: Callable[[str], None]
    user: str | None = None
    password: str | None = None
    pid: int = 0

    @property
    def creds(self) -> str | None:
        return f"{self.user}:{self.password}" if self.user else None

    def auth_header(self) -> dict[str, str]:
        if not self.user:
            return {}
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def curl_auth(self) -> list[str]:
        return ["-u", self.creds] if self.creds else []


@contextlib.contextmanager
def distribution(workdir: Path) -> Iterator[Registry]:
    """CNCF Distribution (Debian's docker-registry) on a free loopback port, no auth."""
    with running_distribution(workdir / "distribution") as d:
        yield Registry("distribution", d.registry, lambda name: None, pid=d.proc.pid)


def ecr_client(endpoint_url: str, region: str, retries: int = 3):  # noqa: ANN201 - boto3 client
    import boto3
    from botocore.config import Config

    from labkit import config

    return boto3.client("ecr", endpoint_url=endpoint_url, region_name=region,
                        aws_access_key_id=config.LAB_ACCESS_KEY,
                        aws_secret_access_key=config.LAB_SECRET_KEY,
                        config=Config(retries={"max_attempts": retries, "mode": "standard"},
                                      connect_timeout=2, read_timeout=30))


@contextlib.contextmanager
def lab(workdir: Path) -> Iterator[Registry]:
    """A real lab process in its own home; repositories are created through its ECR API."""
    from labkit.lab import process

    home = workdir / "lab-home"
    running = process.start(home, port=free_port())
    try:
        ecr = ecr_client(running.endpoint_url, running.region)
        user, password = registry_credentials(ecr)

        def create(name: str) -> None:
            ecr.create_repository(repositoryName=name)

        yield Registry("lab", running.registry, create, user, password, pid=running.pid)
    finally:
        process.stop(home)


# --- images ---------------------------------------------------------------------------------
@dataclass
class Image:
    """A one-layer image of random bytes: the layer is gzip at level 0 (stored blocks), so it is
    as big as its content and no client recompresses or shrinks it."""

    layer: Path
    layer_digest: str
    layer_size: int
    diff_id: str
    config: bytes
    manifest: bytes = field(repr=False, default=b"")

    @property
    def config_digest(self) -> str:
        return dg.of_bytes(self.config)

    @property
    def manifest_digest(self) -> str:
        return dg.of_bytes(self.manifest)


class _HashingWriter(io.RawIOBase):
    """A file that hashes what it writes (for the compressed layer's digest)."""

    def __init__(self, f: io.BufferedWriter):
        self.f, self.h, self.n = f, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[override]
        self.h.update(b)
        self.n += len(b)
        return self.f.write(b)


def make_image(directory: Path, size: int, label: str = "bench") -> Image:
    """Write one random-content layer (a tar holding one file of `size` bytes) and its config."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "layer.tar.gz"
    diff = hashlib.sha256()
    info = tarfile.TarInfo("data.bin")
    info.size, info.mtime, info.mode = size, 0, 0o644
    with open(path, "wb") as raw:
        out = _HashingWriter(raw)
        z = zlib.compressobj(0, zlib.DEFLATED, 31)  # 31: gzip framing; level 0: stored blocks

        def put(b: bytes) -> None:
            diff.update(b)
            out.write(z.compress(b))

        put(info.tobuf(format=tarfile.USTAR_FORMAT))
        left = size
        while left:
            block = os.urandom(min(4 * MiB, left))
            put(block)
            left -= len(block)
        put(b"\0" * ((-size) % 512) + b"\0" * 1024)
        out.write(z.flush())
    config = mf.canonical_json({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/true"], "Labels": {"labkit.bench": label}},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff.hexdigest()}"]},
        "history": [{"created_by": f"labkit bench {label}"}],
    })
    image = Image(path, f"sha256:{out.h.hexdigest()}", out.n, f"sha256:{diff.hexdigest()}",
                  config)
    image.manifest = mf.build(mf.Descriptor(mt.OCI_CONFIG, image.config_digest, len(config)),
                              [mf.Descriptor(mt.OCI_LAYER, image.layer_digest, image.layer_size)])
    return image


def _blob_file(root: Path, digest: str) -> Path:
    p = root / "blobs" / "sha256" / dg.parse(digest)
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def link_or_copy(src: Path, dst: Path) -> None:
    if dst.exists():
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def write_oci_layout(image: Image, root: Path, ref: str = "bench") -> str:
    """An OCI image layout (skopeo's `oci:ROOT:REF`) holding the image; returns that name."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    link_or_copy(image.layer, _blob_file(root, image.layer_digest))
    _blob_file(root, image.config_digest).write_bytes(image.config)
    _blob_file(root, image.manifest_digest).write_bytes(image.manifest)
    index = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [{
        "mediaType": mt.OCI_MANIFEST, "digest": image.manifest_digest,
        "size": len(image.manifest),
        "annotations": {"org.opencontainers.image.ref.name": ref}}]}
    (root / "index.json").write_bytes(mf.canonical_json(index))
    return f"oci:{root}:{ref}"


def write_docker_archive(image: Image, path: Path, repo_tag: str) -> Path:
    """A `docker save` style tar that `docker load` takes (the layer stays gzip; docker
    decompresses it on load and recompresses it on push, as with any local image)."""
    cfg_name = f"{dg.parse(image.config_digest)}.json"
    layer_name = f"{dg.parse(image.layer_digest)}/layer.tar"
    manifest = json.dumps([{"Config": cfg_name, "RepoTags": [repo_tag], "Layers": [layer_name]}])
    with tarfile.open(path, "w") as tar:
        for name, data in ((cfg_name, image.config), ("manifest.json", manifest.encode())):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tar.addfile(ti, io.BytesIO(data))
        tar.add(image.layer, arcname=layer_name)
    return path


def check_layer_gzip(path: Path, n: int = 1 << 16) -> None:
    """Sanity: the layer file starts as valid gzip (guards make_image against regressions)."""
    with gzip.open(path) as f:
        f.read(n)


# --- CPU and memory of a process -----------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (all its threads), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU time of this process's waited-for children (the clients run as subprocesses)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# --- memory sampling ------------------------------------------------------------------------
def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class RssSampler:
    """RSS of a process sampled every `interval` seconds in a thread: baseline and peak."""

    def __init__(self, pid: int, interval: float = 0.05):
        self.pid, self.interval = pid, interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError, RuntimeError):
                self.samples.append(rss_bytes(self.pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self.baseline = rss_bytes(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak(self) -> int:
        return max(self.samples, default=self.baseline)

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


# --- reporting ------------------------------------------------------------------------------
@dataclass
class Row:
    """One line of a results table: what was measured, the lab's figure, the peer's, the goal."""

    what: str
    lab: float
    peer: float | None
    unit: str
    target: str
    ok: bool | None

    def cells(self) -> list[str]:
        ratio = f"{self.lab / self.peer:.2f}x" if self.peer else ""
        verdict = {True: "met", False: "MISSED", None: ""}[self.ok]
        fmt = ".2f" if self.unit == "s" else ".1f"
        peer = f"{self.peer:{fmt}}" if self.peer is not None else ""
        return [self.what, f"{self.lab:{fmt}} {self.unit}", peer and f"{peer} {self.unit}",
                ratio, self.target, verdict]


def throughput_row(what: str, lab_s: float, peer_s: float, size: int, goal: float) -> Row:
    """Times (seconds) to MiB/s, judged as lab/peer >= goal."""
    lab, peer = size / MiB / lab_s, size / MiB / peer_s
    return Row(what, lab, peer, "MiB/s", f">= {goal:.2f}x", lab / peer >= goal)


def print_table(title: str, rows: list[Row], headers: list[str]) -> None:
    table = [headers] + [r.cells() for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
    print(f"\n## {title}\n")
    for i, r in enumerate(table):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    sys.stdout.flush()


def load_note(started_load: float) -> str:
    """A line on how busy the machine was: wall-clock ratios mean little on a loaded box."""
    now = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    busy = max(started_load, now) / cores > 1.0
    return (f"load average {started_load:.1f} at start, {now:.1f} at end, {cores} cores"
            + (" -- BUSY MACHINE: other work competed for the CPU; trust the CPU-seconds "
               "table and the ratios more than absolute MiB/s" if busy else ""))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)
