"""A room of learners against one lab: p50/p95 per step of the course's flow, the lab's peak
memory and CPU, and the instructor's board's delay, for 30 and then 100 learners at once
(issues 12 and 20).

    python tests/bench/room.py [--learners 30 100] [--layer-kib 256] [--timeout 1200]

Each room gets a fresh lab (its own home, so VmHWM is that room's peak). The scenario is the
in-suite one (`tests/reliability/room.py`: create, login, push v1 of 3 layers, push v2 with one
new layer, pull both back, describe-images; every digest verified), run as `labkit classroom`
runs a room: each learner an account of the lab, with its own keys and registry. Every size
runs twice in the same run, over plain HTTP and over TLS (the lab's own CA, verified by every
client): the TLS room's numbers are given as ratios to the plain room's. A poller reads the
board (as the instructor's page does, every 0.5 s) during each room: the board's delay is how
long after a learner's push v1 the board first showed it. The first room, one learner alone,
is the flow's own time.
Clients are threads in this process (one built-in engine store each), so on a small machine
the clients and the lab share the CPU: say so next to any number you quote.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from labkit.lab import process  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.reliability import room  # noqa: E402


class BoardWatch:
    """Polls the board while a room runs; for each learner, when the board first showed their
    v1 push (wall clock), to compare with when the board says the push happened."""

    def __init__(self, lab: object, every: float = 0.5):
        self.lab, self.every = lab, every
        self.first_seen: dict[str, float] = {}
        self.pushed_at: dict[str, float] = {}
        self.polls: list[float] = []  # seconds each board read took
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="board-watch")

    def __enter__(self) -> BoardWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            t0 = time.time()
            try:
                rows = self.lab.board()["rows"]  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - a slow read is a data point, not a stop
                continue
            now = time.time()
            self.polls.append(now - t0)
            for r in rows:
                if "pushed" in r["steps"] and r["name"] not in self.first_seen:
                    self.first_seen[r["name"]] = now
                    self.pushed_at[r["name"]] = float(r["steps"]["pushed"])

    def delays(self) -> list[float]:
        return [self.first_seen[n] - self.pushed_at[n] for n in self.first_seen]


def one_room(workdir: Path, learners: int, layer_bytes: int, timeout: float, tls: bool
             ) -> tuple[room.RoomResult, BoardWatch]:
    name = f"{learners}-{'tls' if tls else 'http'}"
    home = workdir / f"lab-{name}"
    lab = process.start(home, port=free_port(), tls=tls)
    try:
        prepared = room.prepare(lab, workdir / f"room-{name}", learners, layer_bytes,
                                accounts=True)
        print(f"  {learners} learner(s) over {'TLS' if tls else 'plain HTTP'} built their "
              "images; releasing them at once", flush=True)
        with BoardWatch(lab) as watch:
            result = room.run(lab, prepared, timeout=timeout)
            time.sleep(1.5)  # the board's last polls
        return result, watch
    finally:
        process.stop(home)


def _report(result: room.RoomResult, watch: BoardWatch, title: str) -> None:
    print(f"\n{title}\n" + result.table())
    rss = f"{result.lab_peak_rss_kib / 1024:.0f} MiB" if result.lab_peak_rss_kib else "?"
    cpu = f"{result.lab_cpu_seconds:.1f} s" if result.lab_cpu_seconds is not None else "?"
    delays = watch.delays()
    board = (f"p50 {statistics.median(delays):.2f} s, max {max(delays):.2f} s over "
             f"{len(delays)} learners" if delays else "never showed a push")
    polls = f"{statistics.median(watch.polls) * 1000:.0f} ms" if watch.polls else "?"
    print(f"lab peak RSS {rss}, lab CPU {cpu}, whole room {result.seconds:.1f} s")
    print(f"board: a push shown after {board} (a read of the board: p50 {polls})")


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
        alone, watch = one_room(workdir, 1, args.layer_kib << 10, args.timeout, tls=False)
        _report(alone, watch, "one learner alone, plain HTTP")
        for n in args.learners:
            plain, plain_watch = one_room(workdir, n, args.layer_kib << 10, args.timeout, False)
            _report(plain, plain_watch, f"{n} learners, plain HTTP")
            tls, tls_watch = one_room(workdir, n, args.layer_kib << 10, args.timeout, True)
            _report(tls, tls_watch, f"{n} learners, TLS")
            base, solo = plain.percentiles(), alone.percentiles()
            print(f"{'step':<10} {'TLS p50 / HTTP p50':>19} {'TLS p95 / HTTP p95':>19} "
                  f"{'HTTP p50 / alone':>17}")
            for step, (p50, p95) in tls.percentiles().items():
                if step in base and base[step][0] > 0:
                    alone_ratio = plain.percentiles()[step][0] / solo[step][0] \
                        if step in solo and solo[step][0] > 0 else float("nan")
                    print(f"{step:<10} {p50 / base[step][0]:>18.2f}x {p95 / base[step][1]:>18.2f}x "
                          f"{alone_ratio:>16.1f}x")
            for result, what in ((plain, "HTTP"), (tls, "TLS")):
                if result.lost:
                    failed = True
                    print(f"FAILED ({what}): {len(result.lost)} learner(s):\n  "
                          + "\n  ".join(result.lost[:20]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
