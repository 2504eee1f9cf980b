"""Benchmark: the built-in engine's push and pull against the lab, next to skopeo, same run.

    python tests/bench/bench_builtin_engine.py [--size-mib 256] [--reps 3]

Each repetition makes a fresh one-layer image of random bytes, puts the very same blobs into
the built-in engine's store and into an OCI layout for skopeo, then times: built-in push,
skopeo push (each to its own new repository, so every byte travels), built-in pull into an
empty store, skopeo pull into an empty layout. Prints MiB/s and builtin/skopeo against the
target of issue 3 (>= 1.0x), median of --reps.

Both are timed the same way (issue 12): each as a whole command in a process of its own, from
the same starting point: the image's blobs already on disk (the engine's store, skopeo's OCI
layout), not logged in, the lab's credentials handed to the command (skopeo's --dest-creds,
the engine's login inside its command), so interpreter start, imports and login count for the
engine exactly as skopeo's start and auth count for skopeo.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402 - the benchmark's own helpers, next to this file
    Image,
    MiB,
    Registry,
    Row,
    check_layer_gzip,
    children_cpu_seconds,
    cpu_seconds,
    lab,
    link_or_copy,
    load_note,
    log,
    make_image,
    median,
    print_table,
    require,
    tempdir,
    throughput_row,
    write_oci_layout,
)
from bench_registry import skopeo_pull, skopeo_push  # noqa: E402

from labkit.engines.builtin.engine import BuiltinEngine  # noqa: E402
from labkit.engines.report import PULLED, PUSHED  # noqa: E402
from labkit.oci import manifest as mf  # noqa: E402
from labkit.oci import mediatypes as mt  # noqa: E402

HEADERS = ["measure", "builtin", "skopeo", "builtin/skopeo", "target", ""]


def engine_store(image: Image, home: Path, ref: str) -> None:
    """A fresh built-in engine store holding `image` as `ref` (not logged in: like skopeo's
    layout, the command gets the credentials)."""
    store = BuiltinEngine(home).store
    link_or_copy(image.layer, store.blob_path(image.layer_digest))
    store.put_bytes(image.config, image.config_digest)
    digest = store.put_bytes(image.manifest, image.manifest_digest)
    store.set_ref(ref, mf.Descriptor(mt.OCI_MANIFEST, digest, len(image.manifest)))


# One whole command, as `skopeo copy` is one: start Python, import, log in, push or pull.
ENGINE_COMMAND = """
import os, sys
from labkit.engines.builtin.engine import BuiltinEngine
action, home, ref, host, user = sys.argv[1:6]
engine = BuiltinEngine(home)
engine.login(host, user, os.environ["BENCH_PASSWORD"])
report = getattr(engine, action)(ref, progress=False)
print(report.layers[0].status, report.digest)
"""


def engine_command(action: str, home: Path, ref: str, reg: Registry) -> tuple[float, str]:
    env = {**os.environ, "BENCH_PASSWORD": reg.password or ""}
    env.pop("LABKIT_ENGINE_HOME", None)
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", ENGINE_COMMAND, action, str(home), ref, reg.host,
                        reg.user or ""], env=env, capture_output=True, text=True, timeout=900)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"built-in {action} failed: {r.stderr[-2000:]}")
    return dt, r.stdout.strip()


def builtin_push(image: Image, home: Path, ref: str, reg: Registry) -> float:
    engine_store(image, home, ref)
    dt, out = engine_command("push", home, ref, reg)
    if out != f"{PUSHED} {image.manifest_digest}":
        raise RuntimeError(f"built-in push did not upload the layer: {out}")
    return dt


def builtin_pull(image: Image, home: Path, ref: str, reg: Registry) -> float:
    dt, out = engine_command("pull", home, ref, reg)
    if not out.startswith(PULLED) or not BuiltinEngine(home).store.has_blob(image.layer_digest):
        raise RuntimeError(f"built-in pull did not download the layer: {out}")
    shutil.rmtree(home, ignore_errors=True)
    return dt


class Results:
    """Wall-clock seconds, client CPU and lab CPU per (direction, client)."""

    def __init__(self, lab_pid: int) -> None:
        self.lab_pid = lab_pid
        self.times: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.client_cpu: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.lab_cpu: dict[tuple[str, str], list[float]] = defaultdict(list)

    def record(self, key: tuple[str, str], transfer: Callable[..., float], *args: Any) -> None:
        """Run `transfer(*args)` (it returns its own timing) and note who burnt how much CPU.

        Both clients run as child processes: their CPU is the growth of the children's counter."""
        kids, lab_cpu = children_cpu_seconds(), cpu_seconds(self.lab_pid)
        self.times[key].append(transfer(*args))
        self.client_cpu[key].append(children_cpu_seconds() - kids)
        self.lab_cpu[key].append(cpu_seconds(self.lab_pid) - lab_cpu)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size-mib", type=int, default=256)
    p.add_argument("--reps", type=int, default=3)
    args = p.parse_args(argv)
    require("skopeo")
    size = args.size_mib * MiB
    started, load0 = time.perf_counter(), os.getloadavg()[0]
    with tempdir("builtin") as work, lab(work) as reg:
        results = Results(reg.pid)
        times = results.times
        os.environ.pop("LABKIT_ENGINE_HOME", None)
        for rep in range(args.reps):
            log(f"repetition {rep + 1}/{args.reps}: making a {args.size_mib} MiB image")
            image = make_image(work / f"image-{rep}", size, label=f"builtin{rep}")
            check_layer_gzip(image.layer)
            layout = write_oci_layout(image, work / f"layout-{rep}")
            ref = f"{reg.host}/bench/builtin-{rep}:v1"
            reg.create_repo(f"bench/builtin-{rep}")
            reg.create_repo(f"bench/skopeo-{rep}")
            for who in (["builtin", "skopeo"] if rep % 2 == 0 else ["skopeo", "builtin"]):
                log(f"  {who} push")
                if who == "builtin":
                    results.record(("push", who), builtin_push, image, work / f"engine-{rep}",
                                   ref, reg)
                else:
                    results.record(("push", who), skopeo_push, reg, f"bench/skopeo-{rep}",
                                   layout)
            shutil.rmtree(work / f"engine-{rep}")
            for who in (["builtin", "skopeo"] if rep % 2 == 0 else ["skopeo", "builtin"]):
                log(f"  {who} pull")
                if who == "builtin":
                    results.record(("pull", who), builtin_pull, image,
                                   work / f"engine-pull-{rep}", ref, reg)
                else:
                    results.record(("pull", who), skopeo_pull, reg, f"bench/skopeo-{rep}",
                                   work / f"pulled-{rep}")
            shutil.rmtree(work / f"image-{rep}")
            shutil.rmtree(work / f"layout-{rep}")
    rows = [throughput_row(f"{d} ({args.size_mib} MiB, lab)", median(times[(d, "builtin")]),
                           median(times[(d, "skopeo")]), size, 1.0) for d in ("push", "pull")]
    print_table(f"Built-in engine vs skopeo against the lab, median of {args.reps}", rows,
                HEADERS)
    cpu_rows = []
    for d in ("push", "pull"):
        for label, table in (("client", results.client_cpu), ("lab", results.lab_cpu)):
            cpu_rows.append(Row(f"{d}: {label} CPU", median(table[(d, "builtin")]),
                                median(table[(d, "skopeo")]), "s", "", None))
    print_table("CPU seconds per transfer, median (lower is leaner)", cpu_rows, HEADERS)
    print("\nall runs (seconds):")
    for (what, who), values in sorted(times.items()):
        print(f"  {what:5} {who:8} wall {' '.join(f'{v:.2f}' for v in values)}   client cpu "
              f"{' '.join(f'{v:.2f}' for v in results.client_cpu[(what, who)])}   lab cpu "
              f"{' '.join(f'{v:.2f}' for v in results.lab_cpu[(what, who)])}")
    print(f"\ntotal {time.perf_counter() - started:.0f} s; {load_note(load0)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
