"""Docker's IDs and the registry's digests, side by side: each ID in a course table is the one
the tool really printed, for the real docker CLI and for the built-in engine (`labkit docker`).

`docker push` prints each layer's DiffID (sha256 of the uncompressed tar, from the image
config's rootfs.diff_ids); the registry stores the compressed blob, whose digest `docker pull`
prints. The table shows both; its outcome per layer is the lab's account, and must agree with
what the tool printed for that ID.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from types import SimpleNamespace

import pytest

from labkit.course import observed, views
from labkit.ecr.target import connect
from tests.fixtures.trace_scenarios import engine_terminal, settle, sh, stamped_context

pytestmark = pytest.mark.docker
LAYER_LINE = re.compile(r"^([0-9a-f]{12}): (Pushed|Layer already exists|Mounted from \S+|"
                        r"Pull complete|Already exists)$", re.M)


def printed(stdout: str) -> dict[str, str]:
    """{short ID: outcome} from docker's layer lines (the last word docker said for each)."""
    return dict(LAYER_LINE.findall(stdout))


def table_ids(report) -> dict[str, str]:  # noqa: ANN001
    """{ID the table says docker printed: outcome}, and the registry digests beside them."""
    table = views.layer_table(report)
    assert table.headers[1:4] == [f"docker {report.action} printed", "registry digest",
                                  "outcome"]
    return {row[1]: row[3] for row in table.rows}


def step(lab, env: dict[str, str], cmd: str, action: str, ref: str, engine: str):  # noqa: ANN001, ANN201
    """Run `cmd`, then the course's report of it from the lab's trace (as 04, 05, 06 do)."""
    mark = lab.trace_mark()
    out = sh(cmd, env)
    c = SimpleNamespace(target=connect(lab=lab), engine=SimpleNamespace(name=engine))
    build = observed.push_report if action == "push" else observed.pull_report
    return out, build(c, ref, settle(lab, mark))


@pytest.mark.parametrize("engine", ["docker", "builtin"])
def test_each_id_in_the_table_is_the_one_the_tool_printed(lab, tmp_path, engine,  # noqa: ANN001
                                                         require_docker, require_aws_cli) -> None:
    env, docker = engine_terminal(lab, tmp_path, engine)
    name, R = f"ids-{engine}-{uuid.uuid4().hex[:8]}", lab.registry
    for v in (1, 2):
        sh(f"{docker} build -q -t {name}:v{v} {stamped_context(v, tmp_path / 'ctx', name)} "
           f"&& {docker} tag {name}:v{v} {R}/{name}:v{v}", env)
    sh(f"aws ecr get-login-password | {docker} login -u AWS --password-stdin {R} && "
       f"aws ecr create-repository --repository-name {name} >/dev/null", env)
    try:
        pushes = [step(lab, env, f"{docker} push {R}/{name}:v{v}", "push", f"{R}/{name}:v{v}",
                       engine) for v in (1, 2)]
        if engine == "docker":  # forget the images, keep the base: pulls fetch the app layers
            sh(f"docker image rm {R}/{name}:v1 {R}/{name}:v2 {name}:v1 {name}:v2", env)
        else:  # an empty store: the v1 pull fetches every layer, v2 only its new one
            env["LABKIT_ENGINE_HOME"] = str(tmp_path / "pull-engine")
        pulls = [step(lab, env, f"{docker} pull {R}/{name}:v{v}", "pull", f"{R}/{name}:v{v}",
                      engine) for v in (1, 2)]
    finally:
        if engine == "docker":
            subprocess.run(f"docker image rm -f {R}/{name}:v1 {R}/{name}:v2 {name}:v1 "
                           f"{name}:v2", shell=True, capture_output=True)

    for out, report in pushes + pulls:
        said = printed(out)
        assert len(said) == 3, out  # one line per layer: the config is never printed
        assert table_ids(report) == said, (report.action, out)
        digests = {row[2] for row in views.layer_table(report).rows}
        if report.action == "push":  # DiffIDs (uncompressed) are not the blob digests
            assert not digests & set(said), "a push prints DiffIDs, not the registry's digests"
        else:
            assert digests == set(said), "a pull prints the registry's digests"
    v2_push = pushes[1][1]
    assert v2_push.count("Layer already exists") == 2 and v2_push.count("Pushed") == 1
    assert pulls[1][1].count("Pull complete") == 1  # v2 shares v1's base layers
