"""The reliability scenarios of issue 5, each a function that runs against real processes and
returns an Outcome: what was tried, how often, and what was lost.

The pytest files call them with small counts (the default run stays fast); the report script
`tests/bench/reliability_report.py` calls the same functions with big counts and prints the table.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.oci import digest as dg

from . import support
from .support import Pushed, Registry


@dataclass
class Outcome:
    """One row of the report: `lost` lists every image, blob or answer that went wrong."""

    name: str
    tried: int = 0
    detail: str = ""
    lost: list[str] = field(default_factory=list)
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """For tests: fail with the whole list of what went wrong."""
        assert not self.lost, f"{self.name}: {len(self.lost)} problem(s):\n" + "\n".join(
            self.lost[:40])


def _wait_for(predicate: Any, timeout: float = 5.0, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def _upload_status(reg: Registry, location: str) -> tuple[int, int | None]:
    """(status, bytes held) of an upload session."""
    r = reg.request("GET", location)
    rng = r.headers.get("Range", "")
    m = re.match(r"^0-(\d+)$", rng)
    if r.status_code != 204 or not m:
        return r.status_code, None
    held = int(m.group(1)) + 1
    return r.status_code, held


# ---- faults: a client killed mid-upload -----------------------------------------------------
MODES = ("patch", "put", "post", "chunked")


def client_killed_mid_upload(lab: Any, repo: str, runs: int = 20, seed: int | None = None,
                             max_size: int = 6 << 20) -> Outcome:
    """Kill a raw client part way through a PATCH / final PUT / monolithic POST / chunked PATCH
    body, at a random byte, `runs` times. After each kill: the blob is not visible, the session
    still holds exactly what was acknowledged before (resumable) or is gone (monolithic), and
    a retry succeeds with the right bytes."""
    rnd = random.Random(seed)
    reg = Registry(lab)
    host, port = "127.0.0.1", lab.port
    auth = support.basic_header(*reg.session.auth)  # type: ignore[misc]
    out = Outcome("client killed mid blob upload", detail="PATCH, final PUT, monolithic POST, "
                  "chunked PATCH; cut at a random byte; RST or FIN")
    t0 = time.monotonic()
    modes: dict[str, int] = {}
    for i in range(runs):
        mode = MODES[i % len(MODES)] if i < len(MODES) else rnd.choice(MODES)
        modes[mode] = modes.get(mode, 0) + 1
        size = rnd.choice([rnd.randint(1, 64 << 10), rnd.randint(64 << 10, max_size)])
        data = rnd.randbytes(size)
        digest = dg.of_bytes(data)
        prefix = 0 if mode == "post" else rnd.randint(0, size - 1)
        cut = rnd.randint(0, size - prefix - 1)
        reset = rnd.random() < 0.5
        out.tried += 1
        what = f"run {i} {mode} size={size} prefix={prefix} cut={cut} rst={reset}"
        location = ""
        if mode != "post":
            location = reg.start_upload(repo)
            if prefix:
                r = reg.request("PATCH", location, data=data[:prefix],
                                headers={"Content-Range": f"0-{prefix - 1}"})
                if r.status_code != 202:
                    out.lost.append(f"{what}: first PATCH -> {r.status_code}")
                    continue
                location = r.headers["Location"]
        path = location.removeprefix(lab.endpoint_url)
        rest = data[prefix:]
        headers = {"Authorization": auth, "Content-Type": "application/octet-stream"}
        body = rest
        if mode == "patch":
            method = "PATCH"
            headers |= {"Content-Length": str(len(rest)),
                        "Content-Range": f"{prefix}-{size - 1}"}
        elif mode == "put":
            method, path = "PUT", f"{path}?digest={digest}"
            headers["Content-Length"] = str(len(rest))
        elif mode == "post":
            method, path = "POST", f"/v2/{repo}/blobs/uploads/?digest={digest}"
            headers["Content-Length"] = str(len(rest))
        else:
            method = "PATCH"
            headers["Transfer-Encoding"] = "chunked"
            body = b"".join(b"%x\r\n%s\r\n" % (len(rest[j:j + 65536]), rest[j:j + 65536])
                            for j in range(0, len(rest), 65536)) + b"0\r\n\r\n"
            cut = rnd.randint(0, len(body) - 6)  # never the terminating chunk
        head = support.request_head(method, path, headers, f"{host}:{port}")
        support.die_mid_request(host, port, head, body, cut, reset)

        # No partial blob may ever be visible, now or once the lab has noticed the death.
        for _ in range(3):
            if reg.head_blob(repo, digest) != 404:
                out.lost.append(f"{what}: the blob became visible after the kill")
                break
            time.sleep(0.01)
        if mode == "post":
            r = reg.request("POST", f"/v2/{repo}/blobs/uploads/", params={"digest": digest},
                            data=data)
            if r.status_code != 201:
                out.lost.append(f"{what}: retry of the monolithic upload -> {r.status_code}")
        else:
            status, held = _upload_status(reg, location)
            # Range "0-0" is Distribution's way to say "empty", so 1 means 0 for prefix 0.
            if status != 204 or not (held == prefix or (prefix == 0 and held == 1)):
                out.lost.append(f"{what}: after the kill the session says status {status}, "
                                f"{held} bytes (expected {prefix})")
                reg.request("DELETE", location)
                continue
            if mode == "put" or rnd.random() < 0.5:
                r = reg.request("PUT", location, params={"digest": digest}, data=rest,
                                headers={"Content-Range": f"{prefix}-{size - 1}"})
            else:
                r = reg.request("PATCH", location, data=rest,
                                headers={"Content-Range": f"{prefix}-{size - 1}"})
                if r.status_code == 202:
                    r = reg.request("PUT", r.headers["Location"], params={"digest": digest})
            if r.status_code != 201:
                out.lost.append(f"{what}: resuming the session -> {r.status_code} {r.text[:200]}")
                reg.request("DELETE", location)
                continue
        got = reg.request("GET", f"/v2/{repo}/blobs/{digest}")
        if got.status_code != 200 or got.content != data:
            out.lost.append(f"{what}: the retried blob reads back wrong ({got.status_code})")
        copies = support.stored_blob_files(lab.home, digest)
        if len(copies) != 1:
            out.lost.append(f"{what}: {len(copies)} files hold the blob")
    # Abandoned monolithic uploads must not leave sessions behind; the dead chunked ones were
    # resumed and finished, so nothing at all may remain.
    if not _wait_for(lambda: not support.leftovers(lab.home), timeout=5):
        out.lost.append(f"leftovers after all runs: {support.leftovers(lab.home)[:5]}")
    out.lost += support.unexpected_errors(lab.home)
    out.extra["modes"] = modes
    out.seconds = time.monotonic() - t0
    return out


# ---- faults: the lab SIGKILLed during pushes --------------------------------------------------
def _pusher(reg: Registry, repo: str, acked: list[Pushed], stop: threading.Event,
            rnd: random.Random, shared: bytes, max_layer: int) -> None:
    while not stop.is_set():
        layers = [shared] + [rnd.randbytes(rnd.randint(1, max_layer))
                             for _ in range(rnd.randint(1, 3))]
        chunk = rnd.choice([None, 256 << 10, 1 << 20])
        try:
            image = reg.push_image(repo, f"t-{uuid.uuid4().hex[:10]}", layers, chunk)
        except Exception:  # noqa: BLE001 - the lab died under us: expected
            return
        acked.append(image)


def lab_killed_mid_push(home: Path, port_factory: Any, rounds: int = 2, writers: int = 4,
                        min_acked: int = 3, max_layer: int = 2 << 20,
                        seed: int | None = None) -> Outcome:
    """Push from `writers` threads, SIGKILL the lab at a random moment, restart it on the same
    home; `rounds` times. Every image whose manifest PUT was answered must still pull with
    verified digests, DescribeImages must agree with the registry, and unfinished uploads must
    be gone after the restart."""
    from labkit.lab import process

    rnd = random.Random(seed)
    out = Outcome("lab SIGKILLed during pushes", detail=f"{writers} pushing threads, "
                  "chunked and monolithic, restart on the same home")
    t0 = time.monotonic()
    acked: list[Pushed] = []
    repos = [f"crash/r{i}" for i in range(writers)]
    lab = process.start(home, port=port_factory())
    try:
        client = support.ecr(lab)
        for repo in repos:
            client.create_repository(repositoryName=repo)
        interrupted = 0
        for rnum in range(rounds):
            reg = Registry(lab)
            stop = threading.Event()
            before = len(acked)
            threads = [threading.Thread(target=_pusher, args=(
                Registry(lab, reg.session.auth), repo, acked, stop,  # type: ignore[arg-type]
                random.Random(rnd.random()), rnd.randbytes(300 << 10), max_layer),
                daemon=True) for repo in repos]
            for t in threads:
                t.start()
            _wait_for(lambda b=before: len(acked) - b >= min_acked, timeout=60)
            time.sleep(rnd.uniform(0.0, 0.8))
            pid = lab.pid
            os.kill(pid, signal.SIGKILL)
            _wait_for(lambda p=pid: not _pid_alive(p), timeout=10)
            stop.set()
            for t in threads:
                t.join(timeout=30)
            if any(t.is_alive() for t in threads):
                out.lost.append(f"round {rnum}: a pusher hung after the kill")
            sessions = len(list((home / "registry" / "uploads").iterdir()))
            interrupted += sessions
            out.tried += 1
            lab = process.start(home, port=port_factory())
            reg = Registry(lab)
            left = support.leftovers(home)
            if left:
                out.lost.append(f"round {rnum}: {len(left)} leftovers after restart: {left[:3]}")
            for image in acked:
                out.lost += [f"round {rnum}: {p}" for p in reg.problems(image)]
            for repo in repos:
                out.lost += [f"round {rnum}: {p}" for p in support.disagreements(lab, reg, repo)]
                described = support.described(lab, repo)
                for image in acked:
                    if image.repository == repo and image.digest not in described:
                        out.lost.append(f"round {rnum}: {repo}:{image.tag} missing from "
                                        "DescribeImages")
        out.extra.update(images_acked=len(acked), sessions_cut=interrupted)
        out.lost += support.unexpected_errors(home)
    finally:
        process.stop(home)
    out.seconds = time.monotonic() - t0
    return out


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # reap it if it is our child (process.start uses Popen)
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/status").exists() and "zombie" not in Path(
        f"/proc/{pid}/status").read_text()


# ---- faults: the disk full ----------------------------------------------------------------------
def disk_full(mount: Path, port_factory: Any, size_mb: int = 64, layer_mb: int = 4,
              seed: int | None = None) -> Outcome:
    """A tmpfs of `size_mb` as the lab's home: fill it until pushes fail, check the failure is
    a clear 507 and the lab and every stored image survive, free space, push again."""
    from labkit.lab import process

    rnd = random.Random(seed)
    out = Outcome("disk full (tmpfs home)", detail=f"{size_mb} MiB tmpfs, {layer_mb} MiB layers, "
                  "monolithic and chunked uploads and a manifest PUT")
    t0 = time.monotonic()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(mount)],
                   check=True)
    home = mount / "home"
    try:
        lab = process.start(home, port=port_factory())
        try:
            _disk_full_steps(lab, home, mount, rnd, layer_mb, out)
        finally:
            process.stop(home)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
    out.seconds = time.monotonic() - t0
    return out


def _disk_full_steps(lab: Any, home: Path, mount: Path, rnd: random.Random, layer_mb: int,
                     out: Outcome) -> None:
    reg = Registry(lab)
    support.ecr(lab).create_repository(repositoryName="full/app")
    kept = [reg.push_image("full/app", "before", [rnd.randbytes(1 << 20)])]
    # Fill the disk with something that is not the lab's (a learner's other files).
    filler = mount / "filler"
    st = os.statvfs(mount)
    free = st.f_bavail * st.f_frsize
    with open(filler, "wb") as f:
        f.write(b"\0" * max(free - 6 * (1 << 20), 0))
    failures: list[tuple[str, int, dict]] = []
    ways = ["monolithic", "chunked", "manifest"]
    pending: list[bytes] = []
    for way in ways:
        for _ in range(8):
            out.tried += 1
            layer = rnd.randbytes(layer_mb << 20)
            pending.append(layer)
            if way == "monolithic":
                r = reg.request("POST", "/v2/full/app/blobs/uploads/",
                                params={"digest": dg.of_bytes(layer)}, data=layer)
            elif way == "chunked":
                r = reg.request("POST", "/v2/full/app/blobs/uploads/")
                if r.status_code == 202:
                    loc = r.headers["Location"]
                    r = reg.request("PATCH", loc, data=layer,
                                    headers={"Content-Range": f"0-{len(layer) - 1}"})
                    if r.status_code == 202:
                        r = reg.request("PUT", r.headers["Location"],
                                        params={"digest": dg.of_bytes(layer)})
                    else:
                        reg.request("DELETE", loc)
            else:
                from labkit.oci import manifest as mf
                from labkit.oci import mediatypes as mt

                cfg = next(iter(kept[0].blobs))
                manifest = mf.build(
                    mf.Descriptor(mt.OCI_CONFIG, cfg, len(kept[0].blobs[cfg])), [],
                    annotations={"filler": rnd.randbytes(900 << 10).hex()})
                r = reg.request("PUT", f"/v2/full/app/manifests/big-{out.tried}", data=manifest,
                                headers={"Content-Type": mt.OCI_MANIFEST})
            if r.status_code >= 400:
                failures.append((way, r.status_code, _json(r)))
                break
    ways_failed = {w for w, _, _ in failures}
    out.extra["failures"] = [(w, s, (d.get("errors") or [{}])[0].get("message", "")[:80])
                             for w, s, d in failures]
    for way, status, doc in failures:
        codes = [e.get("code") for e in doc.get("errors", [])]
        message = " ".join(e.get("message", "") for e in doc.get("errors", []))
        if status != 507 or "disk" not in message.lower():
            out.lost.append(f"{way}: a full disk answered {status} {codes} {message[:120]!r}, "
                            "not 507 with a clear message")
    if ways_failed != set(ways):
        out.lost.append(f"only {sorted(ways_failed)} failed on a full disk; expected {ways}")
    # The lab is up, stored images intact, no partial blob visible.
    if reg.request("GET", "/v2/").status_code != 200:
        out.lost.append("the lab stopped answering on a full disk")
    for image in kept:
        out.lost += [f"on a full disk: {p}" for p in reg.problems(image)]
    for layer in pending:
        d = dg.of_bytes(layer)
        for copy in support.stored_blob_files(home, d):
            if support.sha256_file(copy) != d:
                out.lost.append(f"a damaged blob file {copy}")
    # Free the space: pushes work again, and everything verifies.
    filler.unlink()
    try:
        again = reg.push_image("full/app", "after", [rnd.randbytes(layer_mb << 20)], 1 << 20)
        kept.append(again)
    except AssertionError as e:
        out.lost.append(f"after freeing space the push still fails: {e}")
    for image in kept:
        out.lost += [f"after freeing space: {p}" for p in reg.problems(image)]
    out.lost += support.disagreements(lab, reg, "full/app")
    out.lost += support.unexpected_errors(home)


def _json(r: Any) -> dict:
    try:
        doc = r.json()
    except ValueError:
        return {"raw": r.text[:200]}
    return doc if isinstance(doc, dict) else {}


# ---- load: the same layer from two clients at once ---------------------------------------------
def same_layer_race(lab: Any, repo: str, rounds: int = 4, size: int = 8 << 20,
                    seed: int | None = None) -> Outcome:
    """Two clients upload the same bytes to the same repository at the same moment (chunked,
    monolithic, or one of each): both must get 201, and exactly one blob file must remain."""
    rnd = random.Random(seed)
    out = Outcome("same layer pushed by 2 clients at once", detail=f"{size >> 20} MiB layer, "
                  "chunked/monolithic pairs, released by a barrier")
    t0 = time.monotonic()
    auth = Registry(lab).session.auth
    for rnum in range(rounds):
        data = rnd.randbytes(size)
        digest = dg.of_bytes(data)
        chunks = [(None, None), (1 << 20, 1 << 20), (None, 2 << 20)][rnum % 3]
        barrier = threading.Barrier(2)
        results: list[Any] = [None, None]

        def push(k: int, chunk: int | None, data: bytes = data,
                 barrier: threading.Barrier = barrier, results: list[Any] = results) -> None:
            reg = Registry(lab, auth)  # type: ignore[arg-type]
            barrier.wait(timeout=30)
            try:
                results[k] = reg.upload_blob(repo, data, chunk)
            except AssertionError as e:
                results[k] = e

        threads = [threading.Thread(target=push, args=(k, c)) for k, c in enumerate(chunks)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        out.tried += 2
        for k, res in enumerate(results):
            if res != digest:
                out.lost.append(f"round {rnum} client {k}: {res}")
        copies = support.stored_blob_files(lab.home, digest)
        if len(copies) != 1 or support.sha256_file(copies[0]) != digest:
            out.lost.append(f"round {rnum}: {len(copies)} stored copies of the blob")
        got = Registry(lab, auth).request("GET", f"/v2/{repo}/blobs/{digest}")  # type: ignore[arg-type]
        if got.status_code != 200 or dg.of_bytes(got.content) != digest:
            out.lost.append(f"round {rnum}: the blob reads back wrong ({got.status_code})")
    out.seconds = time.monotonic() - t0
    return out


# ---- load: many pulls of one image with the built-in engine ------------------------------------
def many_builtin_pulls(lab: Any, repo: str, workdir: Path, clients: int = 50) -> Outcome:
    """Push hello-app once, then `clients` built-in engines (own stores, own threads) pull it
    at the same time; each pull's digest and every blob in each store must verify."""
    from labkit.course import sample
    from labkit.engines.builtin import BuiltinEngine

    out = Outcome(f"{clients} concurrent built-in engine pulls of one image",
                  detail="one store per client, threads released together")
    t0 = time.monotonic()
    user, password = Registry(lab).session.auth  # type: ignore[misc]
    pusher = BuiltinEngine(home=workdir / "pusher")
    sample.ensure_base(pusher)
    ref = f"{lab.registry}/{repo}:1.0"
    pusher.build(sample.context(1), ref)
    pusher.login(lab.registry, user, password)
    pushed = pusher.push(ref, progress=False).digest
    engines = []
    for i in range(clients):
        e = BuiltinEngine(home=workdir / f"puller-{i}")
        e.login(lab.registry, user, password)
        engines.append(e)
    barrier = threading.Barrier(clients)
    results: list[Any] = [None] * clients

    def pull(i: int) -> None:
        barrier.wait(timeout=60)
        try:
            results[i] = engines[i].pull(ref, progress=False).digest
        except Exception as e:  # noqa: BLE001 - reported as lost
            results[i] = e

    threads = [threading.Thread(target=pull, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    for i, res in enumerate(results):
        out.tried += 1
        if res != pushed:
            out.lost.append(f"client {i}: {res!r}")
            continue
        for blob in engines[i].store.blobs.iterdir():
            if support.sha256_file(blob) != f"sha256:{blob.name}":
                out.lost.append(f"client {i}: blob {blob.name[:12]} does not verify")
    out.seconds = time.monotonic() - t0
    return out


def many_skopeo_pulls(lab: Any, repo: str, workdir: Path, clients: int = 50) -> Outcome:
    """`clients` skopeo processes copy one lab image into OCI layouts at once (skopeo verifies
    every digest); then each layout's blobs are re-hashed here too."""
    out = Outcome(f"{clients} concurrent skopeo pulls of one image",
                  detail="skopeo copy docker:// -> oci: in parallel processes")
    t0 = time.monotonic()
    user, password = Registry(lab).session.auth  # type: ignore[misc]
    src = f"docker://{lab.registry}/{repo}:1.0"
    procs = []
    for i in range(clients):
        procs.append(subprocess.Popen(
            ["skopeo", "copy", "--quiet", "--src-tls-verify=false", "--src-creds",
             f"{user}:{password}", src, f"oci:{workdir / f'skopeo-{i}'}:x"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    for i, proc in enumerate(procs):
        out.tried += 1
        _, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            out.lost.append(f"skopeo {i}: {err.strip()[-300:]}")
            continue
        for blob in (workdir / f"skopeo-{i}" / "blobs" / "sha256").iterdir():
            if support.sha256_file(blob) != f"sha256:{blob.name}":
                out.lost.append(f"skopeo {i}: blob {blob.name[:12]} does not verify")
    out.seconds = time.monotonic() - t0
    return out


# ---- load: concurrent docker pushes and pulls ----------------------------------------------------
def _docker(*args: str, env: dict[str, str], timeout: float = 300,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, input=stdin)


def docker_push_pull(lab: Any, workdir: Path, env: dict[str, str], images: int = 8,
                     layer_kib: int = 2048, seed: int | None = None) -> Outcome:
    """Build `images` different images FROM scratch, push them with `images` concurrent
    `docker push`, remove them, pull them with `images` concurrent `docker pull`. The pushed
    digests must equal DescribeImages', the pulled images must carry them and keep their IDs."""
    rnd = random.Random(seed)
    out = Outcome(f"{images} concurrent docker pushes, then {images} concurrent pulls",
                  detail=f"docker CLI, FROM scratch + {layer_kib} KiB random layer each")
    t0 = time.monotonic()
    user, password = Registry(lab).session.auth  # type: ignore[misc]
    login = _docker("login", "--username", user, "--password-stdin", lab.registry, env=env,
                    stdin=password)
    assert login.returncode == 0, login.stderr
    client = support.ecr(lab)
    refs, ids = [], {}
    tag = uuid.uuid4().hex[:8]
    try:
        for i in range(images):
            repo = f"load/docker-{tag}-{i}"
            client.create_repository(repositoryName=repo)
            ctx = workdir / f"ctx-{i}"
            ctx.mkdir()
            (ctx / "payload").write_bytes(rnd.randbytes(layer_kib << 10))
            (ctx / "Dockerfile").write_text("FROM scratch\nCOPY payload /payload\n")
            ref = f"{lab.registry}/{repo}:1"
            # --no-cache: the payloads come from a fixed seed, so another run of this scenario
            # on the same daemon (CI beside a second copy of the suite) builds the same step;
            # a cache hit would hand us its image, which its `rmi -f` removes mid-build
            # ("unable to find image sha256:..."). Each run's images must be its own.
            b = _docker("build", "--no-cache", "-q", "-t", ref, str(ctx),
                        env=env | {"DOCKER_BUILDKIT": "0"})
            assert b.returncode == 0, b.stderr
            ids[ref] = b.stdout.strip().splitlines()[-1]
            refs.append(ref)
        pushed = _parallel(["push"], refs, env)
        digests = {}
        for ref, (rc, text) in pushed.items():
            out.tried += 1
            m = re.search(r"digest: (sha256:[0-9a-f]{64})", text)
            if rc != 0 or not m:
                out.lost.append(f"push {ref}: rc={rc} {text.strip()[-300:]}")
                continue
            digests[ref] = m.group(1)
            repo = ref.split("/", 1)[1].rsplit(":", 1)[0]
            api = support.described(lab, repo)
            if list(api) != [m.group(1)]:
                out.lost.append(f"push {ref}: docker says {m.group(1)}, DescribeImages {list(api)}")
        _docker("rmi", *refs, env=env)
        pulled = _parallel(["pull", "-q"], refs, env)
        for ref, (rc, text) in pulled.items():
            out.tried += 1
            if rc != 0:
                out.lost.append(f"pull {ref}: rc={rc} {text.strip()[-300:]}")
                continue
            info = _docker("inspect", "--format", "{{.Id}} {{json .RepoDigests}}", ref, env=env)
            image_id, _, repo_digests = info.stdout.strip().partition(" ")
            repo = ref.rsplit(":", 1)[0]
            if image_id != ids[ref] or f"{repo}@{digests.get(ref)}" not in repo_digests:
                out.lost.append(f"pull {ref}: id {image_id[:19]} (built {ids[ref][:19]}), "
                                f"digests {repo_digests}")
    finally:
        if refs:
            _docker("rmi", "-f", *refs, env=env)
    out.seconds = time.monotonic() - t0
    return out


def _parallel(action: list[str], refs: list[str], env: dict[str, str]
              ) -> dict[str, tuple[int, str]]:
    procs = {ref: subprocess.Popen(["docker", *action, ref], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, env=env) for ref in refs}
    results = {}
    for ref, proc in procs.items():
        text, _ = proc.communicate(timeout=600)
        results[ref] = (proc.returncode, text)
    return results


def docker_push_on_full_disk(mount: Path, port_factory: Any, workdir: Path,
                             env_for: Any, size_mb: int = 64) -> Outcome:
    """What a learner sees: `docker push` to a lab whose disk is full. Docker retries a 5xx
    (about 50 s), then must print the 507; after space is freed the same push must succeed."""
    from labkit.lab import process

    out = Outcome("docker push on a full disk", detail="docker CLI; 8 MiB layer; then space "
                  "freed and the same push again")
    t0 = time.monotonic()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(mount)],
                   check=True)
    home = mount / "home"
    ref = ""
    try:
        lab = process.start(home, port=port_factory())
        try:
            support.ecr(lab).create_repository(repositoryName="full/docker")
            config, ctx = workdir / "docker-config", workdir / "ctx"
            config.mkdir()
            ctx.mkdir()
            (ctx / "payload").write_bytes(os.urandom(8 << 20))
            (ctx / "Dockerfile").write_text("FROM scratch\nCOPY payload /payload\n")
            env = env_for(lab, config) | {"DOCKER_BUILDKIT": "0"}
            ref = f"{lab.registry}/full/docker:1"
            assert _docker("build", "--no-cache", "-q", "-t", ref, str(ctx),
                           env=env).returncode == 0
            user, password = support.credentials(lab)
            assert _docker("login", "-u", user, "--password-stdin", lab.registry, env=env,
                           stdin=password).returncode == 0
            st = os.statvfs(mount)
            (mount / "filler").write_bytes(b"\0" * (st.f_bavail * st.f_frsize - (4 << 20)))
            out.tried += 1
            first = _docker("push", ref, env=env, timeout=600)
            said = (first.stderr.strip().splitlines() or ["?"])[-1]
            out.extra["docker said"] = said
            if first.returncode == 0 or "507" not in said:
                out.lost.append(f"push on a full disk: rc={first.returncode}, {said!r}")
            (mount / "filler").unlink()
            out.tried += 1
            again = _docker("push", ref, env=env, timeout=600)
            m = re.search(r"digest: (sha256:[0-9a-f]{64})", again.stdout)
            if again.returncode != 0 or not m or list(support.described(lab, "full/docker")) \
                    != [m.group(1)]:
                out.lost.append(f"push after freeing space: rc={again.returncode} "
                                f"{again.stderr.strip()[-200:]}")
            out.lost += support.unexpected_errors(home)
        finally:
            process.stop(home)
            if ref:
                _docker("rmi", "-f", ref, env=os.environ.copy())
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
    out.seconds = time.monotonic() - t0
    return out
