"""A room of learners: N people run the course's flow at the same moment against one lab.

Each learner has its own boto3 session and its own built-in engine store (what a workshop of
laptops or a JupyterHub of kernels gives the lab), and does, in order:
create a repository, log in (GetAuthorizationToken, then the engine's login), push a 3-layer
v1, push v2 (one new layer), remove both locally and pull both back, describe-images.
Everything is checked, by the test rather than by the engine: digests of what was pushed,
pulled and described, how many layers travelled each time, every blob re-hashed in the store.

Shared by `tests/reliability/test_room.py` (30 learners, small layers) and
`tests/bench/room.py` (30 and 100, with p50/p95 per step and the lab's peak memory).
"""

from __future__ import annotations

import base64
import random
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit import config
from labkit.engines import report as rp
from tests.reliability import support

STEPS = ("create", "login", "push v1", "push v2", "pull v1", "pull v2", "describe")
V1_FILES = ("a", "b", "c")
V2_FILES = (*V1_FILES, "d")


class StepFailed(Exception):
    """A step ran but its result was wrong: what the learner would have seen, in words."""


@dataclass
class Learner:
    """One learner's repository, engine and images, prepared before the room starts."""

    index: int
    repository: str
    engine: Any
    ecr: Any
    registry: str = ""  # where this learner pushes: the lab's, or their account's in a room
    keys: tuple[str, str] = ("", "")  # their access key and secret (the AWS CLI's, in a room)
    refs: dict[str, str] = field(default_factory=dict)  # "1.0"/"2.0" -> registry ref
    digests: dict[str, str] = field(default_factory=dict)  # tag -> manifest digest built
    layer_sizes: dict[str, int] = field(default_factory=dict)  # tag -> sum of layer sizes
    seconds: dict[str, float] = field(default_factory=dict)  # step -> wall seconds
    failed: str = ""


@dataclass
class RoomResult:
    learners: int
    layer_bytes: int
    seconds: float
    lost: list[str]
    per_step: dict[str, list[float]]
    lab_peak_rss_kib: int | None
    lab_rss_before_kib: int | None
    lab_cpu_seconds: float | None = None  # the lab's user+system CPU during the room

    @property
    def succeeded(self) -> int:
        return self.learners - len({line.split(":", 1)[0] for line in self.lost})

    def percentiles(self) -> dict[str, tuple[float, float]]:
        """step -> (p50, p95) in seconds, over the learners that reached that step."""
        out = {}
        for step, values in self.per_step.items():
            if values:
                out[step] = (statistics.median(values), _p95(values))
        return out

    def table(self) -> str:
        rows = [f"{'step':<10} {'p50 s':>8} {'p95 s':>8}"]
        for step, (p50, p95) in self.percentiles().items():
            rows.append(f"{step:<10} {p50:>8.3f} {p95:>8.3f}")
        rss = (f"lab peak RSS (VmHWM) {self.lab_peak_rss_kib / 1024:.1f} MiB, "
               f"{self.lab_rss_before_kib / 1024:.1f} MiB before the room"
               if self.lab_peak_rss_kib and self.lab_rss_before_kib else "lab peak RSS: n/a")
        if self.lab_cpu_seconds is not None:
            rss += f"; lab CPU during the room {self.lab_cpu_seconds:.1f}s"
        return "\n".join([f"{self.learners} learners, {self.succeeded} succeeded, "
                          f"{self.seconds:.1f}s, layers of about {self.layer_bytes} bytes", *rows, rss])


def _p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def proc_status_kib(pid: int, field_name: str) -> int | None:
    """A `VmHWM`/`VmRSS` line of /proc/PID/status, in KiB (None where /proc is absent)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of `pid` so far, from /proc/PID/stat (None without /proc)."""
    import os

    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def classroom(lab: Any, learners: int) -> list[dict[str, Any]]:
    """A learner per account, as `labkit classroom up` and `join` make them: the instructor's
    signed request makes the accounts and codes, each learner trades their code for keys."""
    import requests

    names = [f"learner-{i:03d}" for i in range(learners)]
    made = lab.admin("POST", "/_labkit/room/learners", {"names": names}, timeout=300)
    out = []
    for name in names:
        r = requests.post(f"{lab.endpoint_url}/_labkit/room/join",
                          json={"code": made["learners"][name]["code"]}, timeout=60,
                          verify=lab.verify)
        r.raise_for_status()
        out.append(r.json())
    return out


def prepare(lab: Any, workdir: Path, learners: int, layer_bytes: int, seed: int = 12,
            accounts: bool = False) -> list[Learner]:
    """Build every learner's v1 and v2 locally (their own bytes, so every layer is new to the
    lab) before the room starts: the lab sees the course's traffic, not the builds.
    `accounts`: a room as `labkit classroom` makes it, each learner an account of the lab with
    its own keys and registry, all pushing to a repository of the same name (`hello-app`);
    otherwise every learner is the lab's default learner, each with a repository of their own."""
    import boto3

    from labkit.engines.builtin import BuiltinEngine

    joined = classroom(lab, learners) if accounts else []
    out = []
    for i in range(learners):
        rnd = random.Random(seed * 100_003 + i)
        context = workdir / f"learner-{i}" / "context"
        context.mkdir(parents=True)
        for name in V2_FILES:
            (context / name).write_bytes(rnd.randbytes(layer_bytes))
        for tag, files in (("1.0", V1_FILES), ("2.0", V2_FILES)):
            copies = "".join(f"COPY {name} /{name}\n" for name in files)
            (context / f"Dockerfile.{tag}").write_text(
                f"FROM scratch\n{copies}CMD [\"/a\"]\n")
        engine = BuiltinEngine(home=workdir / f"learner-{i}" / "engine", trust_home=lab.home,
                               docker_config=workdir / f"learner-{i}" / "docker.json")
        keys = (joined[i]["access_key_id"], joined[i]["secret_access_key"]) if joined else \
            (config.LAB_ACCESS_KEY, config.LAB_SECRET_KEY)
        session = boto3.session.Session(aws_access_key_id=keys[0], aws_secret_access_key=keys[1],
                                        region_name=lab.region)
        learner = Learner(i, "hello-app" if joined else f"room/learner-{i:03d}", engine,
                          session.client("ecr", endpoint_url=lab.endpoint_url,
                                         verify=lab.verify),
                          joined[i]["registry"] if joined else lab.registry, keys)
        for tag in ("1.0", "2.0"):
            ref = f"{learner.registry}/{learner.repository}:{tag}"
            engine.build(context, ref, dockerfile=f"Dockerfile.{tag}")
            image = engine.store.resolve(ref)
            learner.refs[tag] = ref
            learner.digests[tag] = image.manifest.digest
            learner.layer_sizes[tag] = sum(layer.size for layer in image.manifest.layers)
        out.append(learner)
    return out


def _expect(what: str, got: Any, expected: Any) -> None:
    if got != expected:
        raise StepFailed(f"{what}: got {got!r}, expected {expected!r}")


def _counts(report: rp.TransferReport, **expected: int) -> None:
    words = {"pushed": rp.PUSHED, "exists_remote": rp.EXISTS_REMOTE, "pulled": rp.PULLED,
             "exists_local": rp.EXISTS_LOCAL}
    for key, n in expected.items():
        _expect(f"{report.action} {report.ref}: layers {words[key]!r}",
                report.count(words[key]), n)


def _steps(lab: Any, learner: Learner) -> dict[str, Callable[[], None]]:
    engine, ecr = learner.engine, learner.ecr

    def create() -> None:
        repo = ecr.create_repository(repositoryName=learner.repository)["repository"]
        _expect("repositoryUri", repo["repositoryUri"],
                f"{learner.registry}/{learner.repository}")

    def login() -> None:
        data = ecr.get_authorization_token()["authorizationData"][0]
        user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        _expect("login", engine.login(learner.registry, user, password), "Login Succeeded")

    def push(tag: str, pushed: int, existing: int) -> Callable[[], None]:
        def run() -> None:
            report = engine.push(learner.refs[tag], progress=False)
            _expect(f"push {tag} digest", report.digest, learner.digests[tag])
            _counts(report, pushed=pushed, exists_remote=existing)
        return run

    def pull(tag: str, pulled: int, existing: int) -> Callable[[], None]:
        def run() -> None:
            if tag == "1.0":  # like the course: remove both versions locally, then pull back
                for ref in learner.refs.values():
                    engine.remove(ref)
                _expect("blobs left after removing both images",
                        sorted(p.name for p in engine.store.blobs.iterdir()), [])
            report = engine.pull(learner.refs[tag], progress=False)
            _expect(f"pull {tag} digest", report.digest, learner.digests[tag])
            _counts(report, pulled=pulled, exists_local=existing)
        return run

    def describe() -> None:
        details = ecr.describe_images(repositoryName=learner.repository)["imageDetails"]
        got = {d["imageDigest"]: (sorted(d.get("imageTags", [])), d["imageSizeInBytes"])
               for d in details}
        want = {learner.digests[t]: ([t], learner.layer_sizes[t]) for t in ("1.0", "2.0")}
        _expect("describe-images (digest -> tags, size)", got, want)

    return {"create": create, "login": login,
            "push v1": push("1.0", pushed=3, existing=0),
            "push v2": push("2.0", pushed=1, existing=3),
            "pull v1": pull("1.0", pulled=3, existing=0),
            "pull v2": pull("2.0", pulled=1, existing=3),
            "describe": describe}


def _verify_store(learner: Learner) -> None:
    for blob in learner.engine.store.blobs.iterdir():
        if support.sha256_file(blob) != f"sha256:{blob.name}":
            raise StepFailed(f"blob {blob.name[:12]} in the store does not verify")


def run(lab: Any, learners: list[Learner], timeout: float = 600.0,
        progress: Callable[[str], None] | None = None) -> RoomResult:
    """Release every learner at once; each runs all steps in order, stopping at its first
    failure. Returns what went wrong (empty when everyone succeeded) and the timings."""
    barrier = threading.Barrier(len(learners))

    def learn(learner: Learner) -> None:
        steps = _steps(lab, learner)
        try:
            barrier.wait(timeout=120)
        except threading.BrokenBarrierError:
            learner.failed = "never started: the room's barrier broke"
            return
        for name in STEPS:
            t0 = time.perf_counter()
            try:
                steps[name]()
            except Exception as e:  # noqa: BLE001 - every failure is reported, with the step
                learner.failed = f"{name}: {type(e).__name__}: {e}"
                return
            learner.seconds[name] = time.perf_counter() - t0
        try:
            _verify_store(learner)
        except StepFailed as e:
            learner.failed = f"verify: {e}"

    rss_before = proc_status_kib(lab.pid, "VmRSS")
    cpu_before = proc_cpu_seconds(lab.pid)
    threads = [threading.Thread(target=learn, args=(x,), daemon=True, name=f"learner-{x.index}")
               for x in learners]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    deadline = t0 + timeout
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    seconds = time.monotonic() - t0
    lost = []
    for learner, t in zip(learners, threads, strict=True):
        if t.is_alive():
            lost.append(f"learner {learner.index}: still running after {timeout:.0f}s "
                        f"(done: {', '.join(learner.seconds) or 'nothing'})")
        elif learner.failed:
            lost.append(f"learner {learner.index}: {learner.failed}")
    per_step = {s: [x.seconds[s] for x in learners if s in x.seconds] for s in STEPS}
    if progress:
        progress(f"room of {len(learners)} done in {seconds:.1f}s")
    cpu_after = proc_cpu_seconds(lab.pid)
    cpu = cpu_after - cpu_before if cpu_after is not None and cpu_before is not None else None
    return RoomResult(len(learners), _layer_bytes(learners), seconds, lost, per_step,
                      proc_status_kib(lab.pid, "VmHWM"), rss_before, cpu)


def _layer_bytes(learners: list[Learner]) -> int:
    return learners[0].layer_sizes["1.0"] // len(V1_FILES) if learners else 0
