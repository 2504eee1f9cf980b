"""nbval over the course: a private lab for the run, the repo's sanitize file, no progress bars.

`pytest --nbval notebooks` (or `--nbval-lax`) loads this file first. Before any kernel starts it
points LABKIT_HOME at a temp dir and LABKIT_PORT at a free port (kernels inherit the
environment), and it stops that lab at the end, exactly like `labkit course run` does.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
_stack = ExitStack()


def _nbval_on(config: pytest.Config) -> bool:
    opt = config.option
    return bool(getattr(opt, "nbval", False) or getattr(opt, "nbval_lax", False))


def pytest_configure(config: pytest.Config) -> None:
    if not _nbval_on(config):
        return
    opt = config.option
    if getattr(opt, "nbval_sanitize_with", None) is None:
        opt.nbval_sanitize_with = str(HERE / "sanitize.cfg")
    if not getattr(opt, "nbval_kernel_name", None):
        opt.nbval_current_env = True  # the kernel runs the Python that runs pytest
    from labkit.course_runner import isolated

    _stack.enter_context(isolated())


def pytest_unconfigure(config: pytest.Config) -> None:
    _stack.close()
