"""`labkit trace --last-pull --figure` draws a terminal's pull as completely as the notebook
does: the config and the layers named as such, and a box for every blob the client did not
fetch because it had it, also when docker had the whole image and sent a HEAD only.

What the image is (which digest is the config, the layers, their sizes) comes from the
registry (labkit.ecr.images); which blobs travelled, from the lab's trace.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from labkit.course.lastpull import last_pull
from tests.fixtures.trace_scenarios import engine_terminal, settle, sh, stamped_context

pytestmark = pytest.mark.docker


def texts(fig, gid: str) -> list[str]:  # noqa: ANN001
    return [t.get_text() for t in fig.axes[0].texts if t.get_gid() == gid]


def drawn(lab, env: dict[str, str], mark: int, figure: Path):  # noqa: ANN001, ANN201
    """The terminal's command, and the same pull read in-process to look inside the figure."""
    settle(lab, mark)
    out = sh(f"labkit trace --home {lab.home} --since {mark} --last-pull --figure {figure}",
             env)
    assert figure.stat().st_size > 10_000
    pull = last_pull(lab, mark)
    fig = pull.figure()
    details = texts(fig, "detail")
    assert not any("the config or a layer" in d for d in details), details
    return out, pull, fig


@pytest.mark.parametrize("engine", ["docker", "builtin"])
def test_the_terminal_figure_is_as_complete_as_the_notebooks(lab, tmp_path, engine,  # noqa: ANN001
                                                            require_docker,
                                                            require_aws_cli) -> None:
    env, docker = engine_terminal(lab, tmp_path, engine)
    name, R = f"figure-{engine}-{uuid.uuid4().hex[:8]}", lab.registry
    sh(f"{docker} build -q -t {R}/{name}:v1 {stamped_context(1, tmp_path, name)} && "
       f"aws ecr get-login-password | {docker} login -u AWS --password-stdin {R} && "
       f"aws ecr create-repository --repository-name {name} >/dev/null && "
       f"{docker} push {R}/{name}:v1", env)
    try:
        if engine == "docker":  # the base layers stay: docker says "Already exists"
            sh(f"docker image rm {R}/{name}:v1", env)
        else:  # the built-in engine pulls into a store of its own: every blob travels
            env["LABKIT_ENGINE_HOME"] = str(tmp_path / "pull-engine")
        mark = lab.trace_mark()
        said = sh(f"{docker} pull {R}/{name}:v1", env)
        out, pull, fig = drawn(lab, env, mark, tmp_path / "first.png")
        assert pull.image is not None and len(pull.image.layers) == 3
        sections = texts(fig, "section")
        assert any("config" in s for s in sections) and any("layers" in s for s in sections)
        skips = texts(fig, "skip")
        assert len(skips) == said.count("Already exists"), (said, skips)
        assert all(s.startswith("↺ layer ") for s in skips)
        if skips:
            assert f"{len(skips)} blob(s) already present" in out

        mark = lab.trace_mark()  # again: the client has everything
        sh(f"{docker} pull {R}/{name}:v1", env)
        out, pull, fig = drawn(lab, env, mark, tmp_path / "again.png")
        skips = texts(fig, "skip")
        assert len(skips) == 4 and sum(s.startswith("↺ config ") for s in skips) == 1
        assert "4 blob(s) already present, never requested" in out
        assert not pull.pull.fetched and "pull of " + name in out
    finally:
        if engine == "docker":
            subprocess.run(f"docker image rm -f {R}/{name}:v1", shell=True, capture_output=True)
