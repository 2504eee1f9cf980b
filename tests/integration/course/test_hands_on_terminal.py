"""The hands-on course's terminal side, with the real docker CLI and AWS CLI against a lab:
the built-in `docker` answers like docker does (same command, same shape of output), one login
serves notebook and terminal, every command the kit prints for pasting works when pasted, the
README's terminal block runs as written, and `labkit trace --last-pull` draws a terminal pull.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import lab_environ

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parents[3]
BIN = str(Path(sys.executable).parent)  # labkit and aws of this install
BUILTIN = f"{sys.executable} -m labkit.engines.builtin.cli"


def environ(lab: object, docker_config: Path, engine_home: Path | None = None) -> dict[str, str]:
    env = lab_environ(lab, docker_config)
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    env["DOCKER_BUILDKIT"] = "0"
    if engine_home is not None:
        env["LABKIT_ENGINE_HOME"] = str(engine_home)
    return env


def sh(cmd: str, env: dict[str, str], stdin: str | None = None
       ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-o", "pipefail", "-c", cmd], env=env, input=stdin,
                          capture_output=True, text=True, timeout=300)


def ok(r: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert r.returncode == 0, f"{r.args[-1]!r} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r


def shape(text: str, names: dict[str, str]) -> list[str]:
    """A command's output with the volatile parts (ids, digests, sizes, names) replaced."""
    for real, alias in names.items():
        text = text.replace(real, alias)
    text = re.sub(r"sha256:[0-9a-f]{64}", "<digest>", text)
    text = re.sub(r"\b[0-9a-f]{12}\b", "<id>", text)
    text = re.sub(r"size: \d+", "size: <n>", text)
    return [line for line in text.splitlines()
            if line.strip() and not line.startswith(("hint:", "WARNING!", "Configure a",
                                                     "https://docs.docker.com", "DEPRECATED",
                                                     "            "))]


@pytest.fixture()
def pair(lab, tmp_path, require_docker, require_aws_cli):  # noqa: ANN001, ANN201
    """Per engine: its `docker` command, its environment and its own repository name."""
    tag = uuid.uuid4().hex[:8]
    out = {}
    for engine, docker in (("docker", "docker"), ("builtin", BUILTIN)):
        env = environ(lab, tmp_path / f"config-{engine}",
                      tmp_path / "engine" if engine == "builtin" else None)
        out[engine] = (docker, env, f"course-hands-on-{engine}-{tag}")
    yield out
    docker_env = out["docker"][1]
    name = out["docker"][2]
    sh(f"docker rmi -f {name}:v1 {lab.registry}/{name}:v1 >/dev/null 2>&1", docker_env)


def kinds(lines: list[str]) -> list[str]:
    """The distinct lines (layer lines are already `<id>: status`), order aside."""
    return sorted(set(lines))


def run_both(pair, script: str, lab) -> dict[str, tuple[int, list[str], list[str]]]:  # noqa: ANN001
    """Run `script` (with {docker}, {name}, {R}) under both engines; shapes of stdout/stderr."""
    got = {}
    for engine, (docker, env, name) in pair.items():
        r = sh(script.format(docker=docker, name=name, R=lab.registry), env)
        names = {name: "<name>"}
        got[engine] = (r.returncode, shape(r.stdout, names), shape(r.stderr, names))
    return got


def test_builtin_docker_answers_like_docker(pair, lab) -> None:  # noqa: ANN001
    from labkit.course import sample
    from labkit.engines.docker.engine import DockerEngine

    sample.ensure_base(DockerEngine())
    ok(sh(f"{BUILTIN} build -q -t labkit/base:1.0 {sample.base_context()}", pair["builtin"][1]))
    build = run_both(pair, f"{{docker}} build -t {{name}}:v1 {sample.context(1)}", lab)
    for engine in build:
        code, out, _ = build[engine]
        steps = [x for x in out if x.startswith("Step ")]
        assert code == 0 and steps == ["Step 1/4 : FROM labkit/base:1.0",
                                      'Step 2/4 : LABEL org.opencontainers.image.title="hello-app"',
                                      "Step 3/4 : COPY app/ /app/",
                                      'Step 4/4 : CMD ["/app/hello"]'], (engine, out)
        assert out[0].startswith({"docker": "Sending build context to Docker daemon",
                                  "builtin": "Reading build context"}[engine])
        assert out[-2:] == ["Successfully built <id>", "Successfully tagged <name>:v1"]

    # from push-before-login to pull-after-logout: same exit codes, same shape of output
    steps = [
        ("{docker} tag {name}:v1 {R}/{name}:v1 && {docker} push {R}/{name}:v1", 1),
        ("aws ecr get-login-password | {docker} login -u AWS --password-stdin {R}", 0),
        ("{docker} push {R}/{name}:v1", 1),  # no repository yet
        ("aws ecr create-repository --repository-name {name} >/dev/null && "
         "{docker} push {R}/{name}:v1", 0),
        ("{docker} push {R}/{name}:v1", 0),  # again: every layer already exists
        ("{docker} image rm {R}/{name}:v1", 0),
        ("{docker} image rm {R}/{name}:v1", 1),  # already gone
        ("{docker} pull {R}/{name}:v1", 0),
        ("{docker} pull {R}/{name}:v1", 0),  # up to date
        ("{docker} pull {R}/{name}:nope", 1),
        ("{docker} images {R}/{name}", 0),
        ("{docker} tag {name}:nope {R}/{name}:x", 1),
        ("{docker} logout {R} && {docker} pull {R}/{name}:v1", 1),
    ]
    for script, code in steps:
        got = run_both(pair, script, lab)
        for engine, (rc, _, _err) in got.items():
            assert rc == code, (script, engine, got)
        (_, d_out, d_err), (_, b_out, b_err) = got["docker"], got["builtin"]
        if script.startswith("{docker} images"):
            assert d_out[0].split() == b_out[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID",
                                                           "CREATED", "SIZE"]
            assert d_out[1].split()[:2] == b_out[1].split()[:2] == [f"{lab.registry}/<name>",
                                                                    "v1"]
        elif "pull" in script and code == 0:
            assert d_out[0] == b_out[0] == "v1: Pulling from <name>"
            assert d_out[-3:] == b_out[-3:], script
        else:
            assert kinds(d_out) == kinds(b_out), (script, d_out, b_out)
        assert d_err == b_err, (script, d_err, b_err)


def test_one_login_for_notebook_and_terminal(lab, tmp_path, require_docker,  # noqa: ANN001
                                              require_aws_cli) -> None:
    """target.login(engine) in one process, then `docker push` in a fresh bash, no login;
    and the reverse: a terminal `docker login`, then the Python API pushes."""
    from labkit.course import sample
    from labkit.engines.docker.engine import DockerEngine

    sample.ensure_base(DockerEngine())
    name = f"course-hands-on-login-{uuid.uuid4().hex[:8]}"
    R = lab.registry
    env = environ(lab, tmp_path / "shared-config", tmp_path / "engine")
    ok(sh(f"aws ecr create-repository --repository-name {name} >/dev/null && "
          f"docker build -q -t {R}/{name}:v1 {sample.context(1)} >/dev/null", env))
    ok(sh(f"{BUILTIN} build -q -t labkit/base:1.0 {sample.base_context()} && "
          f"{BUILTIN} build -q -t {R}/{name}:v2 {sample.context(2)}", env))
    try:
        for engine in ("docker", "builtin"):
            login = (f"from labkit.lab import running; from labkit.ecr.target import connect; "
                     f"from labkit.engines import select; from pathlib import Path; "
                     f"connect(lab=running(Path({str(lab.home)!r}))).login(select({engine!r}))")
            ok(subprocess.run([sys.executable, "-c", login], env=env, capture_output=True,
                              text=True, timeout=120))
            ok(sh(f"docker push {R}/{name}:v1", env))  # a fresh terminal, no login
            ok(sh(f"docker logout {R}", env))
        ok(sh(f"aws ecr get-login-password | docker login -u AWS --password-stdin {R}", env))
        for engine, ref in (("docker", f"{R}/{name}:v1"), ("builtin", f"{R}/{name}:v2")):
            push = (f"from labkit.engines import select; "
                    f"print(select({engine!r}).push({ref!r}, progress=False).digest)")
            r = ok(subprocess.run([sys.executable, "-c", push], env=env, capture_output=True,
                                  text=True, timeout=120))
            assert r.stdout.startswith("sha256:")
    finally:
        sh(f"docker rmi -f {R}/{name}:v1 >/dev/null 2>&1", env)


def printed_commands(lab, home: Path, name: str) -> list[str]:  # noqa: ANN001
    """Every bash command the kit prints for a learner to paste, for repository `name`."""
    from labkit.ecr.target import Target
    from labkit.engines import hints

    env = environ(lab, home / "unused")
    up = ok(sh(f"labkit lab up --home {lab.home}", env)).stdout
    lab_env = ok(sh(f"labkit lab env --home {lab.home} --no-start", env)).stdout
    out = [line.split("next: ", 1)[1] for line in up.splitlines() if line.startswith("next: ")]
    out += [line.split("# then: ", 1)[1] for line in lab_env.splitlines()
            if line.startswith("# then: ")]
    out.append(Target.for_lab(lab).login_command().shell)
    for kind in ("no-login", "bad-login", "expired", "no-repository", "missing-tag",
                 "immutable", "no-local-image", "unreachable", "denied"):
        h = hints.hint(kind, name, lab.registry, "push")
        if h is not None and h.command:
            out.append(h.command)
    return out


def test_every_printed_command_works_when_pasted(lab, tmp_path, require_docker,  # noqa: ANN001
                                                 require_aws_cli) -> None:
    name = f"course-hands-on-paste-{uuid.uuid4().hex[:8]}"
    R = lab.registry
    env = environ(lab, tmp_path / "config")
    env.pop("LABKIT_HOME", None)
    for k in [k for k in env if k.startswith("AWS_") or k in ("REGISTRY", "LABKIT_REGISTRY")]:
        env.pop(k)  # a fresh terminal: only what `eval "$(labkit lab env)"` gives
    commands = printed_commands(lab, tmp_path, name)
    assert any("docker login" in c for c in commands)
    assert any("create-repository" in c for c in commands)
    prelude = f'eval "$(labkit lab env --home {lab.home} --no-start)"'
    from labkit.course import sample
    from labkit.engines.docker.engine import DockerEngine

    sample.ensure_base(DockerEngine())
    local = "course-hands-on-paste:v1"  # stands for hello-app:v1 on the shared Docker Engine
    ok(sh(f"docker tag labkit/base:1.0 {local}", env))
    # create-repository first, so describe-images and put-image-tag-mutability have a target
    ordered = sorted(commands, key=lambda c: "create-repository" not in c)
    try:
        for cmd in ordered:
            # the immutable-tag hint names the two things only the learner knows in capitals
            # (the image, a new tag): filled in as a learner would
            filled = cmd.replace("hello-app:v1", local).replace("docker tag IMAGE ",
                                                               f"docker tag {local} ")
            r = sh(f"{prelude}\n{filled.replace(':NEW_TAG', ':v1-again')}", env)
            assert r.returncode == 0, f"pasted {cmd!r}: {r.returncode}\n{r.stdout}\n{r.stderr}"
    finally:
        sh(f"docker rmi {R}/{name}:v1 course-hands-on-paste:v1 >/dev/null 2>&1", env)


def readme_terminal_block() -> str:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    found = [b for b in blocks if b.lstrip().startswith("labkit lab up")]
    assert len(found) == 1, "README.md has one terminal block starting with `labkit lab up`"
    return found[0]


def test_readme_terminal_block_runs_as_written(tmp_path, require_docker,  # noqa: ANN001
                                               require_aws_cli) -> None:
    from labkit.lab.process import free_port

    block = readme_terminal_block()
    assert "hello-app:v1" in block and "1.0 $" not in block
    # the shared Docker Engine of the test machine: this run's own image name
    mine = f"course-hands-on-readme-{uuid.uuid4().hex[:8]}"
    script = block.replace("hello-app:", f"{mine}:").replace("repository-name hello-app",
                                                             f"repository-name {mine}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LABKIT_"))}
    env.update(PATH=BIN + os.pathsep + os.environ.get("PATH", ""),
               LABKIT_HOME=str(tmp_path / "home"), LABKIT_PORT=str(free_port()),
               DOCKER_CONFIG=str(tmp_path / "docker-config"), DOCKER_BUILDKIT="0")
    try:
        r = sh("set -e\n" + script, env)
        assert r.returncode == 0, f"README block failed:\n{r.stdout}\n{r.stderr}"
        assert "Login Succeeded" in r.stdout and ": Pushed" in r.stdout
    finally:
        sh(f"labkit lab down; docker images --format '{{{{.Repository}}}}:{{{{.Tag}}}}' | "
           f"grep -F '{mine}:' | xargs -r docker rmi >/dev/null 2>&1", env)


def test_trace_draws_the_pull_typed_in_a_terminal(lab, tmp_path, require_docker,  # noqa: ANN001
                                                  require_aws_cli) -> None:
    from labkit.course import sample
    from labkit.engines.docker.engine import DockerEngine

    sample.ensure_base(DockerEngine())
    name = f"course-hands-on-trace-{uuid.uuid4().hex[:8]}"
    R = lab.registry
    env = environ(lab, tmp_path / "config")
    context = tmp_path / "context"  # an image of its own: its pull downloads its own blobs
    context.mkdir()
    (context / "Dockerfile").write_text("FROM labkit/base:1.0\nCOPY note.txt /note.txt\n")
    (context / "note.txt").write_text(name)
    ok(sh(f"aws ecr create-repository --repository-name {name} >/dev/null && "
          f"aws ecr get-login-password | docker login -u AWS --password-stdin {R} && "
          f"docker build -q -t {R}/{name}:v1 {context} && docker push {R}/{name}:v1 "
          f"&& docker rmi {R}/{name}:v1", env))
    mark = int(ok(sh(f"labkit trace --home {lab.home} --mark", env)).stdout)
    try:
        ok(sh(f"docker pull {R}/{name}:v1", env))
        check_trace(lab, env, mark, name, tmp_path / "pull.png")
    finally:
        sh(f"docker rmi {R}/{name}:v1 >/dev/null 2>&1", env)


def check_trace(lab, env: dict[str, str], mark: int, name: str, figure: Path) -> None:  # noqa: ANN001
    """`labkit trace --last-pull` and views.last_pull show that pull's own requests."""
    from labkit.course.views import last_pull

    r = ok(sh(f"labkit trace --home {lab.home} --since {mark} --last-pull --figure {figure}",
              env))
    assert figure.stat().st_size > 10_000 and f"pull of {name} by docker" in r.stdout
    pull = last_pull(lab, mark)
    assert pull.repository == name and pull.client == "docker"
    assert all(rec.seq > mark for rec in pull.requests)
    assert any(rec.route == "manifest" and rec.reference == "v1" for rec in pull.requests)
    assert all(rec.is_ping or rec.is_download or rec.repository == name
               for rec in pull.requests)
    assert any(rec.route == "blob" for rec in pull.requests)  # at least the config


HELPER = """#!/usr/bin/env python3
# docker's credential-helper protocol over one JSON file (a test's own store, like `pass`)
import json, os, sys
path = os.environ["LABKIT_TEST_CREDS"]
try:
    db = json.load(open(path))
except FileNotFoundError:
    db = {}
action, data = sys.argv[1], sys.stdin.read()
if action == "store":
    doc = json.loads(data)
    db[doc["ServerURL"]] = [doc["Username"], doc["Secret"]]
elif action == "get":
    if data.strip() not in db:
        print("credentials not found in native keychain")
        sys.exit(1)
    user, secret = db[data.strip()]
    print(json.dumps({"ServerURL": data.strip(), "Username": user, "Secret": secret}))
elif action == "erase":
    db.pop(data.strip(), None)
elif action == "list":
    print(json.dumps({k: v[0] for k, v in db.items()}))
json.dump(db, open(path, "w"))
"""


def test_a_credential_helper_is_shared_with_docker(lab, tmp_path, require_docker,  # noqa: ANN001
                                                   require_aws_cli) -> None:
    """With `credsStore` in config.json, docker and the kit both go through the helper: the
    built-in engine's login is read by the real docker CLI, and the reverse."""
    from labkit.engines.dockerconfig import DockerConfig

    bindir = tmp_path / "bin"
    bindir.mkdir()
    helper = bindir / "docker-credential-labkittest"
    helper.write_text(HELPER)
    helper.chmod(0o755)
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.json").write_text('{"credsStore": "labkittest"}')
    env = environ(lab, config, tmp_path / "engine")
    env["PATH"] = f"{bindir}{os.pathsep}{env['PATH']}"
    env["LABKIT_TEST_CREDS"] = str(tmp_path / "creds.json")
    R = lab.registry
    ok(sh(f"aws ecr get-login-password | {BUILTIN} login -u AWS --password-stdin {R}", env))
    assert "auth\"" not in (config / "config.json").read_text()  # no password in the file
    assert R in (tmp_path / "creds.json").read_text()
    r = sh(f"docker pull {R}/no-such-repo:v1", env)  # logged in: the repository is what's missing
    assert r.returncode == 1 and "name unknown" in r.stderr, r.stderr
    ok(sh(f"{BUILTIN} logout {R} && aws ecr get-login-password | "
          f"docker login -u AWS --password-stdin {R}", env))
    old = os.environ.copy()
    try:
        os.environ.update(PATH=env["PATH"], LABKIT_TEST_CREDS=env["LABKIT_TEST_CREDS"])
        creds = DockerConfig(config / "config.json").get(R)
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert creds is not None and creds.username == "AWS"
