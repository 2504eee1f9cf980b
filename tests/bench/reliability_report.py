"""Run the reliability scenarios of issue 5 with big counts and print the table: faults, loads and
inputs tried, how many, and what was lost (the goal: nothing).

    python tests/bench/reliability_report.py            # the full run (about 5 minutes)
    python tests/bench/reliability_report.py --quick    # the counts of the default test run

The same scenario code runs, with small counts, in `pytest tests/reliability`. Needs root for the
disk-full row (a tmpfs), the Docker Engine for the docker row and skopeo for the skopeo row; a row
whose tool is missing is reported as skipped.  Exit status 1 if anything was lost.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from labkit.lab import process  # noqa: E402
from tests.conftest import docker_answers, free_port, lab_environ  # noqa: E402
from tests.reliability import fuzzing, scenarios, support  # noqa: E402
from tests.reliability.scenarios import Outcome  # noqa: E402

FULL = {"kills": 200, "crash_rounds": 10, "crash_writers": 6, "disk_mb": 64, "docker": 8,
        "pulls": 50, "race_rounds": 12, "race_mb": 32, "fuzz": 5000}
QUICK = {"kills": 20, "crash_rounds": 2, "crash_writers": 3, "disk_mb": 64, "docker": 8,
         "pulls": 50, "race_rounds": 3, "race_mb": 6, "fuzz": 400}


def skipped(name: str, why: str) -> Outcome:
    out = Outcome(name, detail=f"SKIPPED: {why}")
    out.extra["skipped"] = True
    return out


def run_all(n: dict[str, int], work: Path, only: set[str] | None) -> list[Outcome]:
    rows: list[Outcome] = []

    def want(key: str) -> bool:
        return only is None or key in only

    def add(out: Outcome) -> None:
        rows.append(out)
        state = "skipped" if out.extra.get("skipped") else f"{len(out.lost)} lost"
        print(f"  {out.name}: {out.tried} tried, {state}, {out.seconds:.1f}s", flush=True)

    if want("kill"):
        home = work / "kill" / "home"
        lab = process.start(home, port=free_port())
        try:
            support.ecr(lab).create_repository(repositoryName="faults/killed")
            add(scenarios.client_killed_mid_upload(lab, "faults/killed", runs=n["kills"], seed=1))
        finally:
            process.stop(home)
    if want("crash"):
        add(scenarios.lab_killed_mid_push(work / "crash" / "home", free_port,
                                          rounds=n["crash_rounds"], writers=n["crash_writers"],
                                          seed=2))
    if want("disk"):
        mount = work / "disk"
        mount.mkdir()
        if os.geteuid() != 0:
            add(skipped("disk full (tmpfs home)", "mounting a tmpfs needs root"))
        else:
            add(scenarios.disk_full(mount, free_port, size_mb=n["disk_mb"], seed=3))
    if want("disk-docker"):
        (work / "disk-docker").mkdir()
        (work / "disk-docker-work").mkdir()
        if os.geteuid() != 0 or not docker_answers():
            add(skipped("docker push on a full disk", "needs root and the Docker Engine"))
        else:
            add(scenarios.docker_push_on_full_disk(work / "disk-docker", free_port,
                                                   work / "disk-docker-work", lab_environ))
    home = work / "shared" / "home"
    lab = process.start(home, port=free_port())
    try:
        if want("race"):
            support.ecr(lab).create_repository(repositoryName="load/same")
            add(scenarios.same_layer_race(lab, "load/same", rounds=n["race_rounds"],
                                          size=n["race_mb"] << 20, seed=4))
        if want("pulls"):
            support.ecr(lab).create_repository(repositoryName="load/pulls")
            (work / "pulls").mkdir()
            add(scenarios.many_builtin_pulls(lab, "load/pulls", work / "pulls", n["pulls"]))
            if shutil.which("skopeo"):
                add(scenarios.many_skopeo_pulls(lab, "load/pulls", work / "pulls", n["pulls"]))
            else:
                add(skipped(f"{n['pulls']} concurrent skopeo pulls", "skopeo is not installed"))
        if want("docker"):
            if docker_answers():
                config = work / "docker-config"
                config.mkdir()
                (work / "docker").mkdir()
                add(scenarios.docker_push_pull(lab, work / "docker", lab_environ(lab, config),
                                               images=n["docker"], seed=5))
            else:
                add(skipped(f"{n['docker']} concurrent docker pushes/pulls",
                            "no Docker Engine answers"))
        if want("fuzz"):
            victim = home.parent / "victim"
            victim.mkdir()
            (victim / "keep").write_text("must not change")
            add(fuzzing.run(lab, "fuzz/target", home.parent, n["fuzz"], collect=True, seed=6))
    finally:
        process.stop(home)
    if want("auth"):
        add(auth_row())
    return rows


def auth_row() -> Outcome:
    """The auth checks live in pytest functions: run them and count."""
    out = Outcome("auth: every route x missing/wrong/forged/foreign/expired credentials",
                  detail="tests/reliability/test_auth_hostile.py + tests/integration/lab/test_lab_auth.py")
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "tests/reliability/test_auth_hostile.py",
                        "tests/integration/lab/test_lab_auth.py"], cwd=ROOT, capture_output=True,
                       text=True, timeout=900)
    last = (r.stdout.strip().splitlines() or ["?"])[-1]
    out.tried = sum(int(w) for w, nxt in zip(last.split(), last.split()[1:], strict=False)
                    if w.isdigit() and nxt.rstrip(",") in ("passed", "failed", "error", "errors"))
    if r.returncode != 0:
        out.lost.append(f"pytest: {last}")
    out.detail += f" ({last})"
    out.seconds = time.monotonic() - t0
    return out


def table(rows: list[Outcome]) -> str:
    lines = ["| fault / load / input | tried | lost | time | how |",
             "|---|---:|---:|---:|---|"]
    for o in rows:
        lost = "skipped" if o.extra.get("skipped") else str(len(o.lost))
        extra = {k: v for k, v in o.extra.items() if k != "skipped"}
        how = o.detail + (f"; {extra}" if extra else "")
        lines.append(f"| {o.name} | {o.tried} | {lost} | {o.seconds:.0f}s | {how} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="the default test run's counts")
    p.add_argument("--only", nargs="*", choices=["kill", "crash", "disk", "disk-docker", "race",
                                                 "pulls", "docker", "fuzz", "auth"])
    args = p.parse_args(argv)
    counts = QUICK if args.quick else FULL
    with tempfile.TemporaryDirectory(prefix="labkit-reliability-") as tmp:
        print(f"reliability report ({'quick' if args.quick else 'full'} counts: {counts})")
        rows = run_all(counts, Path(tmp), set(args.only) if args.only else None)
    print()
    print(table(rows))
    lost = [(o.name, x) for o in rows for x in o.lost]
    print(f"\nlost: {len(lost)}" + "".join(f"\n  - {name}: {x}" for name, x in lost[:50]))
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
