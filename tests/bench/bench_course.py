"""Time the whole course headless with each engine (issue 4's target: under 60 s each).

Runs `labkit course run --engine E` (fresh private lab, fresh kernels, in order) `--reps` times
per engine and prints the median per notebook and in total. With `--nbval` it also times
`pytest notebooks` (nbval against the committed outputs) per engine.

    python tests/bench/bench_course.py                 # both engines, 1 rep
    python tests/bench/bench_course.py --reps 3 --nbval
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import docker_answers  # noqa: E402

LINE = re.compile(r"^(PASS|FAIL) (\S+)\s+([\d.]+)s")


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("LABKIT_", "AWS_"))}


def course_once(engine: str) -> tuple[float, dict[str, float], bool]:
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "labkit", "course", "run", "--engine", engine,
                        "--out", str(ROOT / "build" / f"bench-{engine}")], cwd=ROOT,
                       env=clean_env(), capture_output=True, text=True, timeout=900)
    wall = time.monotonic() - t0
    per = {m.group(2): float(m.group(3)) for m in map(LINE.match, r.stdout.splitlines()) if m}
    return wall, per, r.returncode == 0


def nbval_once(engine: str) -> tuple[float, bool]:
    env = {**clean_env(), "LABKIT_ENGINE": engine}
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "notebooks"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=900)
    return time.monotonic() - t0, r.returncode == 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--engine", action="append", choices=["docker", "builtin"])
    p.add_argument("--nbval", action="store_true", help="also time `pytest notebooks`")
    args = p.parse_args(argv)
    engines = args.engine or ["builtin", "docker"]
    if "docker" in engines and not docker_answers():
        if os.environ.get("CI", "").lower() == "true":
            print("CI=true but no Docker Engine answers", file=sys.stderr)
            return 1
        print("no Docker Engine answers: docker rows skipped")
        engines = [e for e in engines if e != "docker"]
    ok = True
    for engine in engines:
        walls, pers = [], []
        for _ in range(args.reps):
            wall, per, passed = course_once(engine)
            ok &= passed
            walls.append(wall)
            pers.append(per)
        print(f"\n## labkit course run --engine {engine}  ({args.reps} rep(s), median)")
        for name in pers[0]:
            print(f"  {name:<28} {statistics.median(p.get(name, 0.0) for p in pers):6.1f} s")
        verdict = "under" if statistics.median(walls) < 60 else "OVER"
        print(f"  {'total (wall, incl. lab start)':<28} {statistics.median(walls):6.1f} s  "
              f"({verdict} the 60 s target)")
        if args.nbval:
            times = []
            for _ in range(args.reps):
                t, passed = nbval_once(engine)
                ok &= passed
                times.append(t)
            print(f"  {'pytest notebooks (nbval)':<28} {statistics.median(times):6.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
