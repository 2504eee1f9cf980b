"""nbval over the course: a private lab for the run, the repo's sanitize file, no progress bars.

`pytest notebooks` (nbval is switched on for it), `pytest --nbval notebooks` or `--nbval-lax`
load this file first. Before any kernel starts it
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


def _asked_for_notebooks(config: pytest.Config) -> bool:
    """`pytest notebooks` (or a notebook in it) was asked for by path."""
    for arg in config.args:
        path = Path(str(arg).split("::", 1)[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_configure(config: pytest.Config) -> None:
    opt = config.option
    if not _nbval_on(config) and _asked_for_notebooks(config) and hasattr(opt, "nbval"):
        opt.nbval = True  # `pytest notebooks` means: validate them (same as --nbval)
    if not _nbval_on(config):
        return
    if getattr(opt, "nbval_sanitize_with", None) is None:
        opt.nbval_sanitize_with = str(HERE / "sanitize.cfg")
    if not getattr(opt, "nbval_kernel_name", None):
        opt.nbval_current_env = True  # the kernel runs the Python that runs pytest
    from labkit.course.runner import isolated

    _stack.enter_context(isolated())


def pytest_unconfigure(config: pytest.Config) -> None:
    _stack.close()
