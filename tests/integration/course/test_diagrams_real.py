"""Figures from real runs: the built-in engine on a private lab (what `labkit figures` draws),
and a real `docker pull` against the shared test lab."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from labkit.course import diagrams
from labkit.course.diagrams import demo, flow
from labkit.engines.report import EXISTS_LOCAL
from tests.conftest import lab_environ, registry_credentials, unique


@pytest.fixture(scope="module")
def run() -> demo.Run:
    """One recorded course run (private lab, builtin engine), shared by the tests below."""
    return demo.record()


def test_the_recorded_v2_pull_downloads_one_layer_and_skips_the_shared_ones(run: demo.Run
                                                                            ) -> None:
    assert [x.status for x in run.pull_v2.layers if x.kind == "layer"].count(EXISTS_LOCAL) == 2
    picked = diagrams.pull_requests(run.trace, demo.REPOSITORY)
    hints = flow.report_hints(run.pull_v2)
    f = flow.build(picked, config=hints["config"], digest=hints["digest"],
                   skipped=hints["skipped"], layers=hints["layers"])
    sections = [x.section for x in f.items if isinstance(x, flow.Exchange)]
    assert sections == ["authenticate", "authenticate", "manifest", "config", "layers"]
    assert len(f.skips) == 2
    challenge = f.items[0].messages[-1]
    assert challenge.label == "401 Unauthorized"
    assert "127.0.0.1:PORT" in challenge.detail  # the random port is masked for images/
    layer = f.items[4].messages
    assert layer[-1].label.startswith("200 OK · ") and layer[-2].dst == "storage"


def test_labkit_figures_writes_the_images(run: demo.Run, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit import cli

    monkeypatch.setattr(demo, "record", lambda **_: run)  # reuse the run recorded above
    assert cli.main(["figures", "--out", str(tmp_path)]) == 0
    for name in ("pull-flow.png", "layer-reuse.png", "architecture.png"):
        data = (tmp_path / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 20_000, name


def _sh(args: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    r = subprocess.run(args, env=env, input=stdin, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{args} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.mark.docker
def test_a_real_docker_pull_is_drawn_from_the_lab_trace(lab, ecr_client, tmp_path: Path,
                                                       require_docker) -> None:
    env = lab_environ(lab, tmp_path / "docker-config")
    env["DOCKER_BUILDKIT"] = "0"
    name = unique("diagram-app")
    ecr_client.create_repository(repositoryName=name)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "a.txt").write_text(f"first layer of {name}\n" * 100)  # no other image has it
    (ctx / "b.txt").write_text(f"second layer of {name}\n")
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY a.txt /a.txt\nCOPY b.txt /b.txt\n"
                                    'CMD ["/a"]\n')
    ref = f"{lab.registry}/{name}:v1"
    password = registry_credentials(ecr_client)[1]
    try:
        _sh(["docker", "login", "--username", "AWS", "--password-stdin", lab.registry], env,
            password)
        _sh(["docker", "build", "-q", "-t", ref, str(ctx)], env)
        _sh(["docker", "push", ref], env)
        _sh(["docker", "rmi", ref], env)
        mark = lab.trace_mark()
        _sh(["docker", "pull", ref], env)
        trace = demo.settled_trace(lab, mark)
    finally:
        subprocess.run(["docker", "rmi", "-f", ref], env=env, capture_output=True, timeout=60)
    picked = diagrams.pull_requests(trace, name)
    f = flow.build(picked)
    assert f.client == "docker"
    sections = [x.section for x in f.items]
    # docker pings (GET /v2/ -> 401) first, unless it has just talked to this registry
    assert sections[0] in ("authenticate", "manifest") and "manifest" in sections
    assert sections.count("blobs") == 3  # the config and two layers, each 307 then storage
    assert any(m.label.startswith("verify token") for m in f.messages)
    assert sum(1 for m in f.messages if m.dst == "storage") == 3
    fig = diagrams.pull_flow(trace)
    assert sum(1 for t in fig.axes[0].texts if t.get_gid() == "arrow") == len(f.messages)
