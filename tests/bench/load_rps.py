"""Requests per second of the lab for blob HEAD and manifest GET (what `docker pull` and
`docker push` ask most), measured with a load tool on loopback over keep-alive connections
(hey and wrk reuse each connection); CNCF Distribution alongside, in the same run, when
`docker-registry` is installed, and the ratio against the target (>= 1.5x).

    python tests/bench/load_rps.py [--seconds 10] [--connections 16] [--tool wrk|hey|python]

Tools, best first: hey (Debian `hey`), wrk (Debian `wrk`; it cannot time HEAD), else a threaded Python client
(which measures the client as much as the server: the table says which tool ran).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from labkit.lab import process  # noqa: E402
from labkit.oci import manifest as mf  # noqa: E402
from labkit.oci import mediatypes as mt  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.distribution import running as running_distribution  # noqa: E402
from tests.reliability import support  # noqa: E402

GOAL = 1.5  # issue 12: lab/Distribution, blob HEAD and manifest GET, 16 keep-alive connections
WRK_SCRIPT = """
wrk.method = "{method}"
{headers}
"""


def seed_image(base: str, repo: str, auth: tuple[str, str] | None) -> tuple[str, str]:
    """Push one small image; returns (layer digest, tag)."""
    s = requests.Session()
    s.auth = auth
    layer = os.urandom(64 << 10)
    cfg = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    descs = []
    for data, media in ((layer, mt.OCI_LAYER), (cfg, mt.OCI_CONFIG)):
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        r = s.post(f"{base}/v2/{repo}/blobs/uploads/", timeout=30)  # Distribution 2.8 has
        assert r.status_code == 202, r.text  # no single-POST upload: POST, then PUT the bytes
        location = requests.compat.urljoin(base, r.headers["Location"])
        r = s.put(location, params={"digest": d}, data=data, timeout=30)
        assert r.status_code == 201, r.text
        descs.append(mf.Descriptor(media, d, len(data)))
    raw = mf.build(descs[1], [descs[0]])
    r = s.put(f"{base}/v2/{repo}/manifests/bench", data=raw,
              headers={"Content-Type": mt.OCI_MANIFEST}, timeout=30)
    assert r.status_code == 201, r.text
    return descs[0].digest, "bench"


def run_wrk(url: str, method: str, headers: dict[str, str], seconds: int, conns: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_SCRIPT.format(method=method, headers="\n".join(
            f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())))
    try:
        r = subprocess.run(["wrk", "-t", "2", "-c", str(conns), "-d", f"{seconds}s", "-s", f.name,
                            url], capture_output=True, text=True, timeout=seconds + 60)
    finally:
        os.unlink(f.name)
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    if not m or bad:
        raise RuntimeError(f"wrk failed or saw errors:\n{r.stdout}\n{r.stderr}")
    return float(m.group(1))


def run_hey(url: str, method: str, headers: dict[str, str], seconds: int, conns: int) -> float:
    cmd = ["hey", "-z", f"{seconds}s", "-c", str(conns), "-m", method]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    r = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    codes = re.findall(r"\[(\d{3})\]\s+\d+ responses", r.stdout)
    if not m or any(not c.startswith("2") for c in codes):
        raise RuntimeError(f"hey failed or saw errors:\n{r.stdout}\n{r.stderr}")
    return float(m.group(1))


def run_python(url: str, method: str, headers: dict[str, str], seconds: int, conns: int
               ) -> float:
    count = [0] * conns
    errors: list[int] = []
    deadline = time.monotonic() + seconds

    def worker(i: int) -> None:
        s = requests.Session()
        while time.monotonic() < deadline:
            r = s.request(method, url, headers=headers, timeout=30)
            if r.status_code >= 300:
                errors.append(r.status_code)
                return
            count[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(conns)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"python client saw errors: {errors[:5]}")
    return sum(count) / (time.monotonic() - t0)


TOOLS = {"wrk": run_wrk, "hey": run_hey, "python": run_python}


def measure(name: str, base: str, repo: str, auth: tuple[str, str] | None, tool: str,
            seconds: int, conns: int) -> dict[str, float]:
    layer, tag = seed_image(base, repo, auth)
    headers = {"Accept": mt.ACCEPT_ALL}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    run = TOOLS[tool]
    out = {
        "blob HEAD": run(f"{base}/v2/{repo}/blobs/{layer}", "HEAD", headers, seconds, conns),
        "manifest GET": run(f"{base}/v2/{repo}/manifests/{tag}", "GET", headers, seconds, conns),
    }
    print(f"  {name}: " + ", ".join(f"{k} {v:,.0f}/s" for k, v in out.items()), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--tool", choices=list(TOOLS), default=None)
    args = p.parse_args(argv)
    # hey first: wrk waits for a body after a HEAD answer that carries Content-Length
    tool = args.tool or next((t for t in ("hey", "wrk") if shutil.which(t)), "python")
    print(f"load tool: {tool}, {args.connections} connections, {args.seconds}s per endpoint, "
          f"{os.cpu_count()} cores (the tool and the server share them)")
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="labkit-rps-") as tmp:
        work = Path(tmp)
        home = work / "home"
        lab = process.start(home, port=free_port())
        try:
            support.ecr(lab).create_repository(repositoryName="bench/rps")
            results["lab"] = measure("lab", lab.endpoint_url, "bench/rps",
                                     support.credentials(lab), tool, args.seconds,
                                     args.connections)
        finally:
            process.stop(home)
        if shutil.which("docker-registry"):
            with running_distribution(work / "dist") as dist:
                results["Distribution 2.8"] = measure("Distribution", dist.url, "bench/rps",
                                                      None, tool, args.seconds, args.connections)
    print(f"\n| server | blob HEAD req/s | manifest GET req/s |  ({tool}, "
          f"{args.connections} keep-alive connections)\n|---|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['blob HEAD']:,.0f} | {r['manifest GET']:,.0f} |")
    peer = results.get("Distribution 2.8")
    if peer:
        ratios = {k: results["lab"][k] / peer[k] for k in peer}
        verdicts = ["met" if v >= GOAL else "MISSED" for v in ratios.values()]
        print(f"| lab/Distribution (target >= {GOAL}x) | "
              + " | ".join(f"{v:.2f}x {ok}" for v, ok in zip(ratios.values(), verdicts, strict=True))
              + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
