"""The course ships inside the wheel: installed alone (no source checkout), `labkit course run`
and `labkit course open` find the notebooks, their sanitize file and the figures.

Speed: the wheel is installed with `--no-deps` into a fresh venv, and the dependencies are the
ones this test runs with (the running venv's site-packages is appended to the fresh venv's path
by a .pth line; that venv's own .pth files, such as an editable labkit, are not processed), so
the only labkit the fresh venv can import is the wheel's.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import urllib.request
import zipfile
from pathlib import Path

import pytest

from labkit.course.state import NOTEBOOKS
from tests.course_open import OpenCourse, learner_env

ROOT = Path(__file__).resolve().parents[2]


def build_wheel(dest: Path) -> Path:
    """`pip wheel --no-deps` of this checkout (no build isolation when setuptools is here)."""
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dest), str(ROOT)]
    if _setuptools_version() >= (68,):  # what pyproject.toml's build-system asks for
        cmd.insert(5, "--no-build-isolation")
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    (wheel,) = dest.glob("labkit-*.whl")
    return wheel


def _setuptools_version() -> tuple[int, ...]:
    try:
        from importlib.metadata import version

        return tuple(int(x) for x in version("setuptools").split(".")[:2])
    except Exception:  # noqa: BLE001 - not installed, or an odd version string
        return (0,)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the wheel's labkit; returns its bin/ folder."""
    base = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(base / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    for name in NOTEBOOKS:
        assert f"labkit/course/notebooks/{name}.ipynb" in names
    assert "labkit/course/notebooks/sanitize.cfg" in names
    assert "labkit/course/images/pull-flow.png" in names
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()"
                              "['purelib'])"], check=True, capture_output=True, text=True
                             ).stdout.strip()
    Path(purelib, "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True,
                   timeout=300, env=learner_env())
    return venv / "bin"


def test_installed_labkit_is_the_wheels(installed: Path, tmp_path: Path) -> None:
    r = subprocess.run([str(installed / "python"), "-c",
                        "import labkit.course.tools.runner as r; print(r.__file__); "
                        "print(r.notebooks_dir()); print(r.images_dir())"],
                       cwd=tmp_path, capture_output=True, text=True, check=True)
    module, notebooks, images = r.stdout.split()
    site = str(installed.parent)
    assert module.startswith(site), module
    assert notebooks.startswith(site) and notebooks.endswith("labkit/course/notebooks")
    assert images.startswith(site) and Path(images, "pull-flow.png").exists()
    assert Path(notebooks, "sanitize.cfg").exists()


def test_course_run_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    r = subprocess.run([str(installed / "labkit"), "course", "run", "--engine", "builtin",
                        "--only", "00-setup", "--out", str(tmp_path / "out")],
                       cwd=tmp_path, env=learner_env(), capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"from {installed.parent}" in r.stdout.splitlines()[0]
    assert "1 passed, 0 failed" in r.stdout
    assert (tmp_path / "out" / "00-setup.ipynb").exists()


def test_course_open_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    opened = OpenCourse([str(installed / "labkit"), "course", "open", "--dir", str(ws),
                         "--no-browser"], learner_env(),
                        cwd=tmp_path)
    try:
        with urllib.request.urlopen(opened.url, timeout=30) as page:
            assert page.status == 200 and "JupyterLab" in page.read().decode()
        assert sorted(p.stem for p in (ws / "notebooks").glob("*.ipynb")) == list(NOTEBOOKS)
        assert (ws / "images" / "pull-flow.png").exists()
    finally:
        assert opened.stop() == 0
