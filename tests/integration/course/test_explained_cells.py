"""A failed `%%bash` cell shows the lab's explanation under the command's own output, on its own:
the course's explainer (labkit/course/explained.py) reads the refusal the lab recorded since the
cell's mark. Driven through the cell magic itself, with the real docker CLI and with the built-in
engine's `docker`, against a running lab."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from labkit.course.bashcell import CommandFailed, Magic
from labkit.course.state import Course
from labkit.ecr.target import connect
from labkit.engines.shim import write_shim
from tests.conftest import docker_answers, lab_environ, need, unique


@pytest.fixture(params=["docker", "builtin"])
def course(request: pytest.FixtureRequest, lab: Any, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Course:
    """A notebook's kernel: the lab's variables, one engine's `docker`, the course object."""
    from labkit.engines import select

    if request.param == "docker":
        need(docker_answers(), "no Docker Engine answers")
    env = lab_environ(lab, tmp_path / "docker-config")
    path = [str(Path(sys.executable).parent)]
    if request.param == "builtin":
        path.insert(0, str(write_shim(tmp_path / "bin", tmp_path / "engine")))
        env["LABKIT_ENGINE_HOME"] = str(tmp_path / "engine")
    env.update(PATH=os.pathsep.join([*path, env["PATH"]]), DOCKER_BUILDKIT="0",
               LABKIT_ENGINE=request.param)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith("AWS_") and k not in env]:
        monkeypatch.delenv(key)
    return Course("08-when-things-go-wrong", connect(lab=lab), select(request.param), lab)


def failed(course: Course, cell: str) -> list[str]:
    with pytest.raises(CommandFailed) as info:
        Magic(course, None)("", cell)
    return info.value.lines


def test_a_misspelled_pull_is_explained_under_the_cell(course: Course) -> None:
    repo = unique("cell")
    course.target.create_repository(repo)
    lines = failed(course, "aws ecr get-login-password | docker login -u AWS --password-stdin "
                           f"$REGISTRY >/dev/null 2>&1\ndocker pull $REGISTRY/{repo}x:v1")
    assert lines[0] == f"labkit explain: the lab refused a pull of {repo}x:v1", lines
    assert any(f"did you mean `{repo}`?" in ln for ln in lines), lines
    assert lines[-1] == f"  fix       docker pull {course.registry}/{repo}:v1"


def test_a_push_without_a_login_is_explained_under_the_cell(course: Course) -> None:
    ctx = Path(os.environ["DOCKER_CONFIG"]).parent / "ctx"
    ctx.mkdir(exist_ok=True)
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY f /f\n")
    (ctx / "f").write_text("cell")
    repo = unique("cell-login")
    course.target.create_repository(repo)
    lines = failed(course, f"docker build -q -t $REGISTRY/{repo}:v1 {ctx} >/dev/null\n"
                           f"docker push $REGISTRY/{repo}:v1")
    assert lines[0].startswith("labkit explain: the lab refused the registry handshake"), lines
    assert any("docker has no login for" in ln for ln in lines), lines
    assert lines[-1].endswith(f"--password-stdin {course.registry}")


def test_a_failure_the_lab_never_saw_falls_back_to_the_hint(course: Course) -> None:
    """No such local image: the lab refused nothing, so the hints table speaks (the built-in
    `docker` prints its hint itself, and it is not repeated)."""
    lines = failed(course, f"docker push $REGISTRY/{unique('nothing-local')}:v1")
    assert not any(ln.startswith("labkit explain") for ln in lines), lines
    if course.engine.name == "builtin":
        assert lines == [], lines
    else:
        assert lines and lines[0].startswith("hint: "), lines
