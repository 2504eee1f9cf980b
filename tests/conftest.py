"""Shared fixtures: real tools or a clear skip (and under CI=true, a failure instead of a skip)."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labkit.lab.process import free_port  # noqa: F401 - the tests' one free-port helper

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(ok: bool, reason: str) -> None:
    """Skip with a reason on a developer machine; fail in CI, where every tool must be there."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        r = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                           capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


@pytest.fixture(scope="session")
def require_docker() -> None:
    need(docker_answers(), "no Docker Engine answers (install docker.io and start dockerd)")


@pytest.fixture(scope="session")
def require_skopeo() -> None:
    need(shutil.which("skopeo") is not None, "skopeo is not installed (apt-get install skopeo)")


@pytest.fixture(scope="session")
def require_distribution() -> None:
    need(shutil.which("docker-registry") is not None,
         "CNCF Distribution is not installed (apt-get install docker-registry)")


@pytest.fixture(scope="session")
def require_aws_cli() -> None:
    need(shutil.which("aws") is not None, "the AWS CLI is not installed (pip install awscli)")


# --- the course executed once, from the start of the session (tests/course_runs.py) ----------
def _drives_the_session(config: pytest.Config) -> bool:
    """pytest itself, or pytest-xdist's controller; not one of its workers."""
    return not hasattr(config, "workerinput")


def _course_runs_wanted(config: pytest.Config) -> bool:
    """Whether this session runs the tests that read the course runs: its paths include one of
    their files, and no -k/-m filter may deselect them (then the fixture starts the runs itself
    if a test asks)."""
    from tests.course_runs import USERS

    if config.getoption("keyword") or config.getoption("markexpr") or \
            config.getoption("collectonly"):
        return False
    here = Path(__file__).resolve().parent
    users = [p.resolve() for p in here.rglob("test_*.py") if USERS in p.read_text()]
    for arg in config.args:
        path = Path(str(arg).split("::", 1)[0]).resolve()
        if any(u == path or path in u.parents for u in users):
            return True
    return False


def _compile_labkit() -> None:
    """Byte-compile the checkout's `labkit` once, as `pip install` does for an installed
    package: an editable install is never compiled, and where PYTHONDONTWRITEBYTECODE is set
    (as on this project's CI machines) each of the thousand-odd processes a session starts
    (kernels, `labkit`, the built-in `docker`) would compile every module it imports again,
    about 0.1 s of CPU each. compileall skips what is up to date."""
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "labkit"), quiet=1)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist starts its workers: they inherit ENV
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if _drives_the_session(config):
        _compile_labkit()
    if not _drives_the_session(config) or not _course_runs_wanted(config):
        return
    import tempfile

    from tests import course_runs

    root = Path(tempfile.mkdtemp(prefix="pytest-labkit-course-runs-"))
    course_runs.start_all(root, docker=docker_answers())
    os.environ[course_runs.ENV] = str(root)
    config.stash[_COURSE_RUNS] = root


def pytest_sessionfinish(session: pytest.Session) -> None:
    root = session.config.stash.get(_COURSE_RUNS, None)
    if root is None:
        return
    from tests import course_runs

    session.config.stash[_COURSE_SUMMARY] = course_runs.summary(root)
    course_runs.stop_all(root)
    os.environ.pop(course_runs.ENV, None)
    shutil.rmtree(root, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    lines = config.stash.get(_COURSE_SUMMARY, None)
    if lines:
        terminalreporter.write_sep("-", "the session's course runs (tests/course_runs.py)")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests that read the course runs go last: the runs go on meanwhile, and no worker
    waits for them while other tests could run."""
    from tests.course_runs import USERS

    items.sort(key=lambda item: USERS in getattr(item, "fixturenames", ()))  # stable


_COURSE_RUNS = pytest.StashKey[Path]()
_COURSE_SUMMARY = pytest.StashKey[list[str]]()


# --- no lab outlives the session ------------------------------------------------------------
def _lab_processes() -> dict[int, Path]:
    """PID -> home of each process on this machine that is a lab started with `--home` (the
    lab's module, or `labkit lab up` serving in the process that forked). Linux (/proc) only;
    elsewhere the lab.json files are what the guard below finds."""
    found: dict[int, Path] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = [a.decode(errors="replace") for a in (entry / "cmdline").read_bytes().split(b"\0")]
        except OSError:
            continue
        is_lab = "labkit.lab.process.main" in argv or (
            "labkit" in argv and "lab" in argv and "up" in argv)
        if is_lab and "--home" in argv[:-1]:
            found[int(entry.name)] = Path(argv[argv.index("--home") + 1])
    return found


def stop_labs_left_under(root: Path) -> list[str]:
    """Stop every lab whose home lies under `root`; return one line per lab that was running.

    Found by their lab.json (any OS) and, on Linux, by their command line (a lab whose lab.json
    a test removed still runs). Each is stopped the proven way (`process.stop`), and a process
    that still runs after that gets SIGKILL by its PID: it names a home of this session.
    """
    import signal

    from labkit.lab import process
    from labkit.lab.process.pids import alive

    root = root.resolve()
    left: list[str] = []
    for state in sorted(root.rglob("lab.json")):
        home = state.parent
        lab = process.running(home)
        if lab is not None:
            left.append(f"pid {lab.pid}: {home}")
            process.stop(home)
    for pid, home in _lab_processes().items():
        home = home.resolve() if home.is_absolute() else home
        if (home == root or root in home.parents) and alive(pid):
            left.append(f"pid {pid}: {home} (no lab.json)")
            os.kill(pid, signal.SIGKILL)
    return left


@pytest.fixture(scope="session", autouse=True)
def no_lab_outlives_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fails the run (an error at the last teardown) if a lab started under this session's
    temp dirs is still running once every test and fixture is done, and stops it. Set up
    first, torn down last: the session's own `lab` fixture is stopped before this looks."""
    root = tmp_path_factory.getbasetemp()
    yield
    left = stop_labs_left_under(root)
    if left:
        pytest.fail("labs started by tests were still running after the session (stopped "
                    "now); the test that started each must stop it:\n  " + "\n  ".join(left),
                    pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def docker_config_isolated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Logins made by tests (docker CLI, built-in engine, notebooks) go to a session's own
    DOCKER_CONFIG, never to the user's ~/.docker/config.json. A learner's notebook does not
    set it: the notebook and the terminal share one login."""
    previous = os.environ.get("DOCKER_CONFIG")
    path = tmp_path_factory.mktemp("docker-config")
    os.environ["DOCKER_CONFIG"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("DOCKER_CONFIG", None)
    else:
        os.environ["DOCKER_CONFIG"] = previous


@pytest.fixture()
def tmp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh LABKIT_HOME (and engine home inside it) for one test."""
    home = tmp_path / "labkit-home"
    monkeypatch.setenv("LABKIT_HOME", str(home))
    monkeypatch.delenv("LABKIT_ENGINE_HOME", raising=False)
    yield home


# --- the lab -------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One real lab process for the session, in its own home, on a free loopback port."""
    from labkit.lab import process

    home = tmp_path_factory.mktemp("lab-home")
    lab = process.start(home, port=free_port())
    yield lab
    process.stop(home)
    forget_images_of(lab.registry)  # type: ignore[attr-defined]


def forget_images_of(registry: str) -> None:
    """Remove the Docker Engine's images named after `registry` (`127.0.0.1:PORT`, also as
    `localhost:PORT`), as a course run's teardown does for its lab (`state.registry_refs`): the
    tests' pushes and pulls leave tags and digest names there, and on a developer's daemon they
    piled up run after run (600 images after a day of runs made every `docker images` of the
    course slower). Best effort: no daemon, nothing to do."""
    from labkit.course.state import registry_refs
    from labkit.engines.docker.engine import DockerEngine
    from labkit.engines.docker.ping import docker_available

    if not docker_available():
        return
    engine = DockerEngine()
    for name in (registry, registry.replace("127.0.0.1", "localhost")):
        for ref in registry_refs(engine, name):
            try:
                # the name only: its untagged parents (the sample's shared LABEL step) stay, as
                # another test's `docker build` may be using them as its cache at this moment
                # ("unable to find image sha256:..." when they went under it)
                engine.api.remove_image(ref, noprune=True)
            except Exception:  # noqa: BLE001 - best effort: the session's result stands
                pass


def lab_environ(lab: object, docker_config: Path | None = None) -> dict[str, str]:
    """os.environ plus the lab's exports (what `eval "$(labkit lab env)"` gives a shell)."""
    from labkit.lab.process.env import variables

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(variables(lab))  # type: ignore[arg-type]
    if docker_config is not None:
        env["DOCKER_CONFIG"] = str(docker_config)
    return env


@pytest.fixture()
def ecr_client(lab: object) -> object:
    """A boto3 ECR client pointed at the lab with the lab's dummy credentials."""
    import boto3

    from labkit import config

    return boto3.client("ecr", endpoint_url=lab.endpoint_url,  # type: ignore[attr-defined]
                        region_name=lab.region,  # type: ignore[attr-defined]
                        aws_access_key_id=config.LAB_ACCESS_KEY,
                        aws_secret_access_key=config.LAB_SECRET_KEY)


def registry_credentials(ecr: Any) -> tuple[str, str]:
    """("AWS", password) from GetAuthorizationToken: what `aws ecr get-login-password` feeds
    to `docker login`."""
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    user, _, password = base64.b64decode(token).decode().partition(":")
    return user, password


class ShortTokens:
    """Registry tokens issued inside the `with` are short-lived; `expire()` ends them at once.

    `expire()` moves the lab's token clock (labkit/lab/housekeeping/clock.py TOKEN_FILE, which
    the lab's token issuer reads) past their expiry: no test waits a token's lifetime out, and
    the TTL can leave a busy machine a full minute for each token's first (valid) use. Tokens
    issued meanwhile with the normal TTL are unaffected (they are hours from expiry). Leaving
    the `with` puts the token clock back at the wall clock, so the lab's later answers
    (GetAuthorizationToken's expiresAt) are real time again.
    """

    TTL = 60.0

    def __init__(self, lab: Any, ttl: float = TTL):
        from labkit.lab.housekeeping.clock import TOKEN_FILE, LabClock

        self.lab, self.ttl = lab, ttl
        self.clock = LabClock(lab.home, file=TOKEN_FILE)

    def __enter__(self) -> ShortTokens:
        self.lab.set_token_ttl(self.ttl)
        return self

    def expire(self) -> None:
        """From now on the lab sees every short token as expired; new tokens are normal."""
        self.lab.set_token_ttl(12 * 3600)
        self.clock.advance(self.ttl + 1)  # a token lives at most `ttl` (whole seconds)

    def __exit__(self, *exc: object) -> None:
        self.lab.set_token_ttl(12 * 3600)
        self.clock.reset()


def unique(prefix: str) -> str:
    """A repository name no other test uses (tests share one lab)."""
    import uuid

    return f"{prefix}-{uuid.uuid4().hex[:8]}"
