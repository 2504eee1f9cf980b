"""Ships the course inside the wheel: `notebooks/` and `images/` at the top of the repository stay
the source of truth (maintainers edit them there), and the build copies them into the package as
`labkit/course/notebooks/` and `labkit/course/images/`, so `pip install` of the wheel alone brings
the course. Everything else about the package is in pyproject.toml.

An editable install (`pip install -e .`) copies nothing: `labkit.course.tools.runner.notebooks_dir()`
finds the checkout's own `notebooks/` next to the package.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# folder at the top of the repo -> the files of it that a learner's copy of the course needs
COURSE_FILES = {"notebooks": ("*.ipynb", "sanitize.cfg"), "images": ("*.png",)}


class BuildPyWithCourse(build_py):
    """build_py, plus the course's notebooks and figures copied under labkit/course/."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for folder, patterns in COURSE_FILES.items():
            dest = Path(self.build_lib, "labkit", "course", folder)
            shutil.rmtree(dest, ignore_errors=True)  # a notebook removed upstream must not linger
            self.mkpath(str(dest))
            for pattern in patterns:
                for src in sorted((ROOT / folder).glob(pattern)):
                    self.copy_file(str(src), str(dest / src.name))


setup(cmdclass={"build_py": BuildPyWithCourse})
