"""Time from a fresh virtual environment to JupyterLab showing `00-setup` in a browser.

Phases, each timed on the wall clock:
  venv      python -m venv (with pip)
  install   pip install of the kit's wheel, with its dependencies (from pip's cache/index)
  open      `labkit course open --no-browser` until it prints the URL (workspace filled,
            JupyterLab answering)
  browser   headless Chromium (Debian's) loads that URL until 00-setup's cells are drawn and
            its kernel is idle
Peer, in the same run: a fresh venv + `pip install jupyterlab` + JupyterLab on an empty folder
(started by the same code as `labkit course open`) until the browser shows JupyterLab's
launcher. The ratio kit / peer says what the kit adds over bare JupyterLab.

    python tests/bench/time_to_jupyterlab.py [--wheel dist/labkit-0.1.0-py3-none-any.whl]
                                             [--no-peer] [--keep DIR]

Saves build/screenshots/00-setup-first-open.png.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from labkit.course.tools import open as course_open  # noqa: E402
from labkit.lab.process import free_port  # noqa: E402
from tests.browser import lab_browser  # noqa: E402
from tests.course_open import OpenCourse, learner_env  # noqa: E402
from tests.integration.test_wheel_install import build_wheel  # noqa: E402

LAUNCHER = "document.querySelector('.jp-Launcher, .jp-LauncherBody') !== null"


class Clock:
    def __init__(self) -> None:
        self.marks: list[tuple[str, float]] = []
        self.t = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.marks.append((name, now - self.t))
        self.t = now
        print(f"  {name:<8} {self.marks[-1][1]:7.1f}s", flush=True)

    @property
    def total(self) -> float:
        return sum(s for _, s in self.marks)


def fresh_venv(where: Path, packages: list[str], clock: Clock) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    clock.lap("venv")
    subprocess.run([str(where / "bin" / "pip"), "install", "-q", *packages], check=True)
    clock.lap("install")
    return where / "bin"


def kit(wheel: Path, base: Path) -> float:
    print("kit: fresh venv -> pip install wheel -> labkit course open -> browser shows 00-setup")
    clock = Clock()
    bin_dir = fresh_venv(base / "kit-venv", [str(wheel)], clock)
    env = learner_env(LABKIT_HOME=str(base / "lab-home"), LABKIT_PORT=str(free_port()),
                      JUPYTERLAB_WORKSPACES_DIR=str(base / "layouts-kit"))  # not ~/.jupyter
    opened = OpenCourse([str(bin_dir / "labkit"), "course", "open", "--dir", str(base / "ws"),
                         "--no-browser"], env, cwd=base)
    driver = None
    try:
        clock.lap("open")
        driver = lab_browser.chromium(base / "profile-kit")
        lab_browser.open_notebook(driver, opened.url)
        clock.lap("browser")
        shot = ROOT / "build" / "screenshots" / "00-setup-first-open.png"
        lab_browser.screenshot(driver, shot)
        print(f"  screenshot {shot}")
    finally:
        if driver is not None:
            driver.quit()
        opened.stop()
    print(f"  total    {clock.total:7.1f}s")
    return clock.total


def peer(base: Path) -> float:
    print("peer: fresh venv -> pip install jupyterlab -> jupyter lab -> browser shows the launcher")
    clock = Clock()
    bin_dir = fresh_venv(base / "peer-venv", ["jupyterlab>=4.1,<5"], clock)
    (base / "empty").mkdir(exist_ok=True)
    os.environ["JUPYTERLAB_WORKSPACES_DIR"] = str(base / "layouts-peer")  # not ~/.jupyter
    server = course_open.start(base / "empty", free_port(), python=str(bin_dir / "python"))
    driver = None
    try:
        clock.lap("open")
        driver = lab_browser.chromium(base / "profile-peer")
        driver.get(f"{server.base}/lab?token={server.token}")
        lab_browser.wait_for(driver, LAUNCHER, 180, "JupyterLab's launcher")
        clock.lap("browser")
    finally:
        if driver is not None:
            driver.quit()
        server.stop()
    print(f"  total    {clock.total:7.1f}s")
    return clock.total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", default=None, help="the kit's wheel (default: build one now)")
    ap.add_argument("--no-peer", action="store_true", help="skip the bare JupyterLab peer")
    ap.add_argument("--keep", default=None, help="work in this folder and keep it")
    args = ap.parse_args()
    if lab_browser.missing():
        print(f"benchmark needs {lab_browser.missing()}", file=sys.stderr)
        return 1
    base = Path(args.keep or tempfile.mkdtemp(prefix="labkit-ttj-")).resolve()
    base.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    wheel = Path(args.wheel).resolve() if args.wheel else build_wheel(base / "dist")
    print(f"wheel {wheel.name} ({time.monotonic() - t0:.1f}s to build, not counted)")
    ours = kit(wheel, base)
    if not args.no_peer:
        theirs = peer(base)
        print(f"kit / bare JupyterLab: {ours:.1f}s / {theirs:.1f}s = {ours / theirs:.2f}x")
    print(f"time from a fresh venv to JupyterLab showing 00-setup: {ours:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
