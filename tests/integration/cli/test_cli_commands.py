"""Every `labkit` subcommand, and every option README.md, docs/ and `labkit doctor` name, run for
real: `python -m labkit ...` processes against labs in temp homes on free ports, the built-in
engine, the AWS CLI.

What must run is read from the documents, not listed here: each `labkit <command>` they name and
each `--option` named beside it (same paragraph, or same line of a code block) that the command's
parser has. A new subcommand, or an option added to the README without a test that runs it,
fails the coverage check at the end of the test that owns its command group.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import nbformat
import pytest

from labkit.cli import build_parser
from tests import course_runs as cr
from tests.conftest import free_port
from tests.course_open import OpenCourse, learner_env
from tests.integration.conftest import CourseRuns

ROOT = Path(__file__).resolve().parents[3]
DOCTOR = ROOT / "labkit" / "course" / "tools" / "doctor.py"  # the commands `labkit doctor` names
Leaf = tuple[str, ...]


# --- what the parser has, what the documents name --------------------------------------------
def command_tree() -> dict[Leaf, set[str]]:
    """Each runnable command (`("lab", "up")`) -> its long options. argparse has no public way to
    list subcommands, so this reads its action list (stdlib, stable since Python 3.2)."""
    out: dict[Leaf, set[str]] = {}

    def walk(parser: argparse.ArgumentParser, path: Leaf) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            out[path] = {o for a in parser._actions for o in a.option_strings
                         if o.startswith("--") and o != "--help"}
            return
        for name, child in subs[0].choices.items():
            walk(child, (*path, name))

    walk(build_parser(), ())
    return out


TREE = command_tree()


def resolve(words: Iterable[str]) -> Leaf | None:
    """The command that `labkit WORDS...` runs, or None if WORDS name none."""
    path: Leaf = ()
    for word in words:
        if (*path, word) in TREE:
            return (*path, word)
        if not any(leaf[:len(path) + 1] == (*path, word) for leaf in TREE):
            return None
        path = (*path, word)
    return None


def _chunks(text: str, by_line: bool) -> list[str]:
    """Paragraphs of prose, and each line of a fenced block (or of source code) on its own."""
    if by_line:
        return text.splitlines()
    out, para, fenced = [], [], False
    for line in text.splitlines():
        if line.startswith("```"):
            out.append("\n".join(para))
            para, fenced = [], not fenced
        elif fenced:
            out.append(line)
        elif line.strip():
            para.append(line)
        else:
            out.append("\n".join(para))
            para = []
    out.append("\n".join(para))
    return [c for c in out if c]


COMMAND = re.compile(r"\blabkit((?:[ \t]+[a-z][a-z0-9-]*)+)")
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def named_in(text: str, by_line: bool = False) -> set[tuple[Leaf, str | None]]:
    """(command, None) for each `labkit ...` command the text names, and (command, option) for
    each of that command's options named in the same paragraph or line."""
    found: set[tuple[Leaf, str | None]] = set()
    for chunk in _chunks(text, by_line):
        leaves = {leaf for m in COMMAND.finditer(chunk)
                  if (leaf := resolve(m.group(1).split())) is not None}
        options = set(OPTION.findall(chunk))
        for leaf in leaves:
            found.add((leaf, None))
            found |= {(leaf, o) for o in options & TREE[leaf]}
    return found


def documented() -> set[tuple[Leaf, str | None]]:
    named = named_in((ROOT / "README.md").read_text())
    for doc in sorted((ROOT / "docs").glob("*.md")):
        named |= named_in(doc.read_text())
    return named | named_in(DOCTOR.read_text(), by_line=True)


class Ran:
    """Runs `python -m labkit ...` and records which command and options really ran."""

    def __init__(self, env: dict[str, str], cwd: Path):
        self.env, self.cwd = env, cwd
        self.seen: set[tuple[Leaf, str | None]] = set()

    def record(self, args: list[str]) -> None:
        leaf = resolve(a for a in args if not a.startswith("-"))
        assert leaf is not None, f"labkit {' '.join(args)} names no command"
        self.seen.add((leaf, None))
        self.seen |= {(leaf, a.split("=", 1)[0]) for a in args if a.split("=", 1)[0] in TREE[leaf]}

    def __call__(self, *args: str, code: int | None = 0, stdin: str | None = None,
                 timeout: float = 300) -> subprocess.CompletedProcess[str]:
        self.record(list(args))
        r = subprocess.run([sys.executable, "-m", "labkit", *args], env=self.env, cwd=self.cwd,
                           input=stdin, capture_output=True, text=True, timeout=timeout)
        assert "Traceback" not in r.stderr, r.stderr
        if code is not None:
            assert r.returncode == code, (f"labkit {' '.join(args)} exited {r.returncode}, "
                                          f"not {code}\n{r.stdout}\n{r.stderr}")
        return r

    def covers(self, *groups: str) -> None:
        """Every command of these groups ran, and every option the documents name for them."""
        want = {(leaf, None) for leaf in TREE if leaf[0] in groups}
        want |= {n for n in documented() if n[0][0] in groups}
        missing = sorted(want - self.seen, key=str)
        assert not missing, f"named in README/docs/doctor or in the parser, never run: {missing}"


def environment(tmp: Path, **extra: str) -> dict[str, str]:
    """A learner's shell: no labkit/AWS settings of the caller, this venv's `aws` on PATH, the
    built-in engine and a docker config of the test's own."""
    env = learner_env(LABKIT_ENGINE="builtin", LABKIT_ENGINE_HOME=str(tmp / "engine"),
                      DOCKER_CONFIG=str(tmp / "docker-config"), LABKIT_LIFECYCLE_INTERVAL="0")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def exports(text: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """The variables `labkit lab env`'s lines set, as bash sets them (`eval`: its PATH line,
    when the built-in docker goes first, extends the PATH bash had)."""
    names = [line[len("export "):].split("=", 1)[0] for line in text.splitlines()
             if line.startswith("export ")]
    script = 'eval "$1"; shift; for n in "$@"; do printf "%s=%s\\0" "$n" "${!n}"; done'
    out = subprocess.run(["bash", "-c", script, "bash", text, *names], capture_output=True,
                         text=True, check=True, env=env).stdout
    return dict(item.split("=", 1) for item in out.split("\0") if item)


def wait_for_status(ran: Ran, home: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    deadline = time.monotonic() + timeout
    while True:
        r = ran("lab", "status", "--home", str(home), code=None)
        if r.returncode == 0 or time.monotonic() > deadline:
            return r
        time.sleep(0.3)


# --- the tests ----------------------------------------------------------------------------------
def test_the_documents_name_commands_the_parser_has() -> None:
    named = documented()
    assert (("lab", "up"), "--foreground") in named  # README and `labkit doctor` both name it
    assert (("trace",), "--last-pull") in named and (("course", "open"), "--no-browser") in named
    # a made-up option next to a real command is not taken for one of its options
    assert named_in("`labkit lab up --nonsense`") == {(("lab", "up"), None)}
    # classroom's walk-through is tests/integration/room/test_classroom.py (it covers its group)
    assert {leaf[0] for leaf in TREE} == {"lab", "docker", "sample", "trace", "explain", "course",
                                          "doctor", "figures", "classroom"}, \
        "a new command needs a test here"


def test_lab_docker_sample_and_trace_commands(tmp_path: Path) -> None:
    """The README's terminal walk-through, every lab command and option on the way."""
    home, fg_home = tmp_path / "home", tmp_path / "fg-home"
    env = environment(tmp_path, LABKIT_HOME=str(home))
    ran = Ran(env, tmp_path)

    # `lab up --foreground`: a lab in this process's terminal, found by status, stopped by down
    port = free_port()
    argv = ["lab", "up", "--foreground", "--home", str(fg_home), "--port", str(port),
            "--token-ttl", "600", "--host", "127.0.0.1"]
    ran.record(argv)
    with open(tmp_path / "foreground.log", "w") as log:
        fg = subprocess.Popen([sys.executable, "-m", "labkit", *argv], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        st = wait_for_status(ran, fg_home)
        assert st.returncode == 0, (tmp_path / "foreground.log").read_text()
        assert f"127.0.0.1:{port}" in st.stdout and "token ttl 600s" in st.stdout
        assert json.loads((fg_home / "lab.json").read_text())["pid"] == fg.pid
        assert "stopped" in ran("lab", "down", "--home", str(fg_home)).stdout
        assert fg.wait(timeout=30) == 0
        assert not (fg_home / "lab.json").exists()
    finally:
        if fg.poll() is None:
            fg.kill()
            fg.wait()

    _tls_lab(ran, tmp_path / "tls-home")

    # `lab env --no-start` with no lab: exit 3, and nothing started
    r = ran("lab", "env", "--no-start", "--home", str(home), code=3)
    assert "no lab running" in r.stderr and not (home / "lab.json").exists()

    # the detached lab, with the README's options
    port = free_port()
    r = ran("lab", "up", "--home", str(home), "--port", str(port), "--token-ttl", "3600",
            "--host", "127.0.0.1")
    assert f"lab running at http://127.0.0.1:{port}" in r.stdout
    try:
        _walk_through(ran, env, home, port, tmp_path)
    finally:
        ran("lab", "down", "--home", str(home), code=None)
    r = ran("lab", "status", code=3)  # LABKIT_HOME, not --home
    assert "no lab running" in r.stdout
    ran.covers("lab", "docker", "sample", "trace", "explain")


def _tls_lab(ran: Ran, home: Path) -> None:
    """`lab up --tls --tls-host`, `--no-tls` against it, `lab trust` and `--undo` (docs/tls.md;
    tests/integration/lab/test_lab_tls.py has the clients)."""
    port = free_port()
    r = ran("lab", "up", "--home", str(home), "--port", str(port), "--tls",
            "--tls-host", "lab.room.test")
    assert f"lab running at https://127.0.0.1:{port}" in r.stdout
    try:
        ca = home / "tls" / "ca.crt"
        assert f"its CA is {ca}" in ran("lab", "status", "--home", str(home)).stdout
        r = ran("lab", "up", "--home", str(home), "--no-tls", code=1)
        assert "labkit lab up --no-tls" in r.stderr
        r = ran("lab", "trust", "--home", str(home), code=None)  # root writes, others get sudo
        written = Path(f"/etc/docker/certs.d/lab.room.test:{port}/ca.crt")
        assert (r.returncode, f"wrote {written}" in r.stdout) == (0, True) or (
            r.returncode == 1 and "sudo sh -c" in r.stdout), r.stdout + r.stderr
        r = ran("lab", "trust", "--undo", "--home", str(home))
        assert not written.exists()
    finally:
        ran("lab", "down", "--home", str(home), code=None)


def _walk_through(ran: Ran, env: dict[str, str], home: Path, port: int, tmp: Path) -> None:
    st = ran("lab", "status", "--home", str(home)).stdout
    assert f"127.0.0.1:{port}" in st and "token ttl 3600s" in st
    console = shutil.which("labkit", path=str(Path(sys.executable).parent))
    assert console, "the console script `labkit` is not installed next to this Python"
    r = subprocess.run([console, "lab", "status"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and f"127.0.0.1:{port}" in r.stdout, r.stderr

    shell = exports(ran("lab", "env", "--home", str(home)).stdout, env)
    assert shell["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{port}"
    reg = shell["REGISTRY"]
    ps = ran("lab", "env", "--format", "powershell").stdout
    assert f"$env:AWS_ENDPOINT_URL = 'http://127.0.0.1:{port}'" in ps
    assert "Get-ECRLoginCommand" in ps
    env.update(shell)

    def aws(*args: str) -> str:
        r = subprocess.run(["aws", *args], env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        return r.stdout

    # the sample app, as a terminal builds it
    r = ran("sample", "path", "v1")
    context = Path(r.stdout.strip())
    assert (context / "Dockerfile").exists() and "labkit/base:1.0" in r.stderr
    assert Path(ran("sample", "path", "v2", "--no-base").stdout.strip()).name == "v2"
    assert "Successfully tagged hello-app:v1" in ran("docker", "build", "-t", "hello-app:v1",
                                                     str(context)).stdout
    assert "Successfully tagged hello-app:v2" in ran("sample", "build", "v2").stdout
    assert "Successfully tagged hello-app:v1" in ran("sample", "build").stdout  # all

    # create, log in, tag, push two versions
    aws("ecr", "create-repository", "--repository-name", "hello-app")
    password = aws("ecr", "get-login-password", "--region", shell["AWS_DEFAULT_REGION"])
    assert "Login Succeeded" in ran("docker", "login", "--username", "AWS", "--password-stdin",
                                    reg, stdin=password).stdout
    for v in ("v1", "v2"):
        ran("docker", "tag", f"hello-app:{v}", f"{reg}/hello-app:{v}")
        assert "Pushed" in ran("docker", "push", f"{reg}/hello-app:{v}").stdout
    assert f"{reg}/hello-app" in ran("docker", "images").stdout

    # trace: a mark, a pull, that pull's requests and figure
    mark = int(ran("trace", "--mark", "--home", str(home)).stdout.strip())
    ran("docker", "image", "rm", f"{reg}/hello-app:v2")
    assert f"Downloaded newer image for {reg}/hello-app:v2" in ran("docker", "pull",
                                                                    f"{reg}/hello-app:v2").stdout
    figure = tmp / "pull.png"
    r = ran("trace", "--since", str(mark), "--last-pull", "--figure", str(figure))
    assert f"wrote {figure}" in r.stdout and figure.stat().st_size > 1000
    assert "hello-app" in ran("trace", "--last-pull", "--repository", "hello-app").stdout
    listing = ran("trace", "--since", str(mark)).stdout
    assert "BatchGetImage hello-app:v2" in listing  # what each request is, as the lab saw it
    assert "add --last-pull" in ran("trace", "--figure", str(figure), code=2).stderr
    # a reader that stops early (`| head`, here `| true`, which reads nothing) ends it quietly
    r = subprocess.run(["bash", "-c", f"{shlex.quote(sys.executable)} -m labkit trace | true"],
                       env=env, capture_output=True, text=True, timeout=60)
    ran.record(["trace"])
    assert r.returncode == 0 and r.stderr == "", r.stderr

    # the lab's clock, and lifecycle policies applied now
    assert "ahead of the wall clock" in ran("lab", "clock", "show", "--home", str(home)).stdout
    assert "(15d 0h ahead" in ran("lab", "clock", "advance", "15d", "--home", str(home)).stdout
    assert "(0s ahead" in ran("lab", "clock", "reset", "--home", str(home)).stdout
    # the tokens' clock (notebook 08's next morning): its own, the lab clock stays
    assert ran("lab", "clock", "advance", "13h", "--tokens").stdout.startswith("token clock: ")
    assert "(13h 0m ahead" in ran("lab", "clock", "show", "--tokens", "--home", str(home)).stdout
    assert "(0s ahead" in ran("lab", "clock", "show").stdout
    assert "(0s ahead" in ran("lab", "clock", "reset", "--tokens").stdout
    assert "no repository has a lifecycle policy" in ran("lab", "lifecycle", "run").stdout
    rule = {"rulePriority": 1, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                                             "countNumber": 1}, "action": {"type": "expire"}}
    aws("ecr", "put-lifecycle-policy", "--repository-name", "hello-app",
        "--lifecycle-policy-text", json.dumps({"rules": [rule]}))
    r = ran("lab", "lifecycle", "run", "--repository", "hello-app", "--home", str(home))
    assert "hello-app: expired 1 image(s)" in r.stdout

    # a second account: its administrator's keys as export lines, then it is listed
    made = ran("lab", "account", "create", "team-b", "--home", str(home)).stdout
    account = made.split()[2]
    keys = exports(made, env)
    assert keys["AWS_ACCESS_KEY_ID"].startswith("AKIA") and keys["AWS_SECRET_ACCESS_KEY"]
    assert keys["REGISTRY"].startswith("127.0.0.1:") and keys["REGISTRY"] != reg  # its own
    identity = subprocess.run(["aws", "sts", "get-caller-identity", "--query", "Account",
                               "--output", "text"], env={**env, **keys},
                              capture_output=True, text=True, timeout=60)
    assert identity.stdout.strip() == account, identity.stderr
    listed = ran("lab", "account", "list", "--home", str(home)).stdout
    assert any(ln.startswith(account) and "team-b" in ln for ln in listed.splitlines()), listed
    again = ran("lab", "account", "create", "team-b", "--home", str(home)).stdout
    assert again.split()[2] == account and "(already there" in again.splitlines()[0]
    assert exports(again, env) == keys  # the same keys: a notebook cell may run twice
    assert ran("lab", "account", "create", "", "--home", str(home), code=2).stderr.startswith(
        "labkit: the lab refused POST /_labkit/accounts")

    # the instructor's board: a one-time URL, and the table as CSV with the flags' thresholds
    url = ran("lab", "board", "--home", str(home)).stdout.strip()
    assert url.startswith(f"http://127.0.0.1:{port}/_labkit/board?ticket="), url
    table = ran("lab", "board", "--csv", "--idle", "5", "--repeats", "2").stdout.splitlines()
    assert table[0].startswith("account,name,repository created,logged in") and any(
        row.startswith(f"{account},team-b,") for row in table[1:]), table

    # explain: the expired tag's failed pull, as the lab recorded it
    mark = ran("trace", "--mark").stdout.strip()
    assert "the lab refused nothing since mark" in ran("explain", "--since", mark).stdout
    ran("docker", "pull", f"{reg}/hello-app:v1", code=1)
    r = ran("explain", "--home", str(home), "--since", mark)
    assert r.stdout.startswith("labkit explain: the lab refused a pull of hello-app:v1"), r.stdout
    assert "the tags it holds: v2" in r.stdout
    doc = json.loads(ran("explain", "--json", "--client", "labkit (builtin engine)").stdout)
    assert doc["case"] == "missing-tag" and doc["failure"]["reference"] == "v1"
    assert ran("explain", "--home", str(tmp / "no-lab"), code=3).stderr.startswith(
        "labkit explain: no lab running")


def test_course_commands(tmp_path: Path, course_runs: CourseRuns) -> None:
    """`course run` (into a copy of the notebooks with --update; the session's whole run with
    --solutions) and `course open` (JupyterLab on a chosen port, stopped with Ctrl-C)."""
    env = environment(tmp_path)
    ran = Ran(env, tmp_path)
    notebooks = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebooks)
    before = (notebooks / "00-setup.ipynb").stat().st_mtime_ns
    home = tmp_path / "course-home"
    try:
        r = ran("course", "run", "--engine", "builtin", "--only", "00-setup", "--notebooks",
                str(notebooks), "--out", str(tmp_path / "out"), "--update", "--home", str(home),
                "--port", str(free_port()), "--kernel", "python3", "--timeout", "300",
                timeout=600)
    finally:
        # --home keeps the home and its lab (a maintainer inspects it): this test stops it
        ran("lab", "down", "--home", str(home), code=None)
    assert "1 passed, 0 failed" in r.stdout and "engine builtin" in r.stdout
    assert (tmp_path / "out" / "00-setup.ipynb").exists() and home.is_dir()  # --home is kept
    assert (notebooks / "00-setup.ipynb").stat().st_mtime_ns != before  # --update wrote it back
    # --solutions: the session's `labkit course run --engine builtin --solutions --out DIR`
    solved = course_runs.solved_builtin
    ran.record(solved.argv[solved.argv.index("labkit") + 1:])
    solved.passed(len(cr.SOLVED))
    assert solved.out is not None
    nb = nbformat.read(solved.out / "01-create-repository.ipynb", as_version=4)
    assert any("solution-run" in c.metadata.get("tags", []) for c in nb.cells)

    port = free_port()
    argv = ["course", "open", "--dir", str(tmp_path / "ws"), "--port", str(port), "--no-browser"]
    ran.record(argv)
    opened = OpenCourse([sys.executable, "-m", "labkit", *argv], env=env, cwd=tmp_path)
    try:
        assert f"127.0.0.1:{port}/lab/tree/" in opened.url
        assert (tmp_path / "ws" / "notebooks" / "00-setup.ipynb").exists()
    finally:
        assert opened.stop() == 0, opened.output
    ran.covers("course")


@pytest.mark.parametrize("group", ["doctor", "figures"])
def test_doctor_and_figures(tmp_path: Path, group: str) -> None:
    # its own port: the test does not depend on 5400 being free (a learner's lab may hold it)
    ran = Ran(environment(tmp_path, LABKIT_HOME=str(tmp_path / "home"),
                          LABKIT_PORT=str(free_port())), tmp_path)
    if group == "doctor":
        r = ran("doctor", "--engine", "builtin", timeout=300)
        assert r.stdout.rstrip().endswith("ready for the workshop")
    else:
        r = ran("figures", "--out", str(tmp_path / "images"), "--progress", timeout=300)
        for name in ("pull-flow.png", "layer-reuse.png", "architecture.png"):
            assert f"wrote {tmp_path / 'images' / name}" in r.stdout
    ran.covers(group)
