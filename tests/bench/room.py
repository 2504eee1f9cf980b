"""A room of learners against one lab: p50/p95 per step of the course's flow, and the lab's
peak memory, for 30 and then 100 learners at once (issue 12).

    python tests/bench/room.py [--learners 30 100] [--layer-kib 256] [--timeout 1200]

Each room gets a fresh lab (its own home, so VmHWM is that room's peak). The scenario is the
in-suite one (`tests/reliability/room.py`: create, login, push v1 of 3 layers, push v2 with one
new layer, pull both back, describe-images; every digest verified). There is no second ECR to
compare with, so the peer is the same flow by one learner alone, in the same run: the table
gives each step's p50 as a ratio to that single learner's time.
Clients are threads in this process (one built-in engine store each), so on a small machine
the clients and the lab share the CPU: say so next to any number you quote.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from labkit.lab import process  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.reliability import room  # noqa: E402


def one_room(workdir: Path, learners: int, layer_bytes: int, timeout: float) -> room.RoomResult:
    home = workdir / f"lab-{learners}"
    lab = process.start(home, port=free_port())
    try:
        prepared = room.prepare(lab, workdir / f"room-{learners}", learners, layer_bytes)
        print(f"  {learners} learner(s) built their images; releasing them at once", flush=True)
        return room.run(lab, prepared, timeout=timeout)
    finally:
        process.stop(home)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--learners", type=int, nargs="+", default=[30, 100])
    p.add_argument("--layer-kib", type=int, default=256, help="size of each layer's file")
    p.add_argument("--timeout", type=float, default=1200, help="seconds for a whole room")
    args = p.parse_args()
    print(f"machine: {os.cpu_count()} CPUs; clients are threads in this process; layers of "
          f"{args.layer_kib} KiB random bytes")
    failed = False
    with tempfile.TemporaryDirectory(prefix="labkit-room-") as tmp:
        workdir = Path(tmp)
        alone = one_room(workdir, 1, args.layer_kib << 10, args.timeout)
        base = alone.percentiles()
        print("\n" + alone.table())
        for n in args.learners:
            result = one_room(workdir, n, args.layer_kib << 10, args.timeout)
            print("\n" + result.table())
            print(f"{'step':<10} {'p50 / one learner alone':>24}")
            for step, (p50, _) in result.percentiles().items():
                if step in base and base[step][0] > 0:
                    print(f"{step:<10} {p50 / base[step][0]:>23.1f}x")
            if result.lost:
                failed = True
                print(f"FAILED: {len(result.lost)} learner(s):\n  " + "\n  ".join(result.lost[:20]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
