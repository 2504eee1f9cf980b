"""nbval over the course: a private lab for the run, the repo's sanitize file, no progress bars.

`pytest notebooks` (nbval is switched on for it), `pytest --nbval notebooks` or `--nbval-lax`
load this file first. Before any kernel starts it enters `labkit.course.tools.runner.isolated()`,
exactly like `labkit course run` does (kernels inherit the environment):

- LABKIT_HOME is a temp dir and LABKIT_PORT a free port: this run's lab, whose registry
  address `127.0.0.1:PORT` is its own, so `$REGISTRY/hello-app:v1` never names another run's
  image on a shared Docker Engine;
- DOCKER_CONFIG is a folder in that home: the notebooks' `docker login` does not touch the
  user's ~/.docker (a learner's own notebook does, on purpose: their terminal shares it);
- the sample's build context is stamped with that home (`labkit sample path v1`), so the app
  layers are this run's own: an image left on the daemon by an earlier run or by the learner's
  terminal cannot make 06's pull say "Already exists" where it teaches "Pull complete";
- with the Docker Engine, course runs on one daemon take turns (`runner.engine_turn`): the
  commands the course teaches use local names (`hello-app:v1`) that are global on a daemon,
  and two runs at once would retag and remove each other's between two cells.

What nbval compares: see sanitize.cfg. Outputs that depend on the daemon's cache or on which
engine runs `docker` are tagged `nbval-ignore-output` (they still run; a failing command fails
its %%bash cell), and a summary the lab derives from its own record follows each of them.
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
    from labkit.course.tools.runner import isolated

    _stack.enter_context(isolated())


def pytest_unconfigure(config: pytest.Config) -> None:
    _stack.close()
