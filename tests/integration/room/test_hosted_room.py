"""A hosted room (issue 20): JupyterHub on one machine (pip's jupyterhub, npm's
configurable-http-proxy, the dummy authenticator, one server per user), configured with
`labkit.room.hub.configure` against a TLS room made by `labkit classroom up`. Three users
start their servers through the hub's REST API; in each server's own kernel, reached through
the hub's proxy, every cell of notebook 04 runs as that user would run it. Each kernel is that
learner of the room (their account, their registry, the built-in engine), and the instructor's
board shows the three learners' pushes.

Twice: with `SimpleLocalProcessSpawner` (every server as the hub's user), and with JupyterHub's
default `LocalProcessSpawner` and a Unix user per learner (made for the test, removed after),
as docs/workshop.md says to run a real room: each server then runs as its learner, the hook
gave each learner's home (keys included) to that user, and one learner's kernel cannot read
another's keys."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import free_port
from tests.integration.room.test_classroom import labkit

ROOT = Path(__file__).resolve().parents[3]
NAMES = ("ada", "grace", "linus")
NOTEBOOK = "04-push"
TOKEN = uuid.uuid4().hex

pytestmark = pytest.mark.slow

CONFIG = """
from labkit.room.hub import configure

c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_port}"
c.ConfigurableHTTPProxy.pid_file = "{tmp}/proxy.pid"
c.JupyterHub.db_url = "sqlite:///{tmp}/hub.sqlite"
c.JupyterHub.cookie_secret_file = "{tmp}/cookie_secret"
c.JupyterHub.authenticator_class = "dummy"
c.Spawner.cmd = ["{python}", "-m", "jupyterhub.singleuser"]
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
{spawner}
c.JupyterHub.services = [{{"name": "labkit-test", "api_token": "{token}"}}]
c.JupyterHub.load_roles = [{{"name": "labkit-test", "services": ["labkit-test"],
    "scopes": ["admin:users", "admin:servers", "access:servers", "read:users"]}}]
configure(c, join_file="{join_file}", homes="{homes}")
"""
SIMPLE = """c.JupyterHub.spawner_class = "simple"
c.Spawner.args = ["--allow-root"]  # CI runs as root: every server as the hub's user
c.SimpleLocalProcessSpawner.home_dir_template = "{tmp}/servers/{{username}}"
"""
LOCAL = """c.JupyterHub.spawner_class = "localprocess"  # JupyterHub's default: a Unix user each
"""


def _servers_python(root: Path) -> Path:
    """A Python the learners' Unix users may run, for their servers and kernels: a venv on the
    system's interpreter (this session's may live where only root can read, as pyenv's does)
    with the checkout (editable), the Jupyter server, the kernel and the AWS CLI at this
    session's versions (uv, from its warm cache: about 5 s)."""
    import importlib.metadata

    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(uv).exists():
        pytest.fail("uv is not installed (the README's test command installs it)")
    unreadable = [p for p in (ROOT, *ROOT.parents) if not p.stat().st_mode & 0o005]
    if unreadable:
        pytest.fail(f"the learners' users cannot reach the checkout ({unreadable[0]} is not "
                    "readable by others): run the suite from a checkout they can read")
    venv = root / "venv"
    subprocess.run([uv, "venv", "-q", "--python", "/usr/bin/python3", str(venv)], check=True)
    pins = [f"{p}=={importlib.metadata.version(p)}"
            for p in ("jupyterhub", "jupyter_server", "ipykernel", "awscli")]
    subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
                    "-e", str(ROOT), *pins], check=True, capture_output=True, timeout=600)
    return venv / "bin" / "python"


def _wait(check: Any, what: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got = check()
        except requests.RequestException:
            got = None
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


async def _run_cells(base: str, cells: list[str]) -> list[dict[str, Any]]:
    """Each cell in one new kernel of the server at `base`, in order, as Jupyter runs them:
    its status and its text output."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    headers = {"Authorization": f"token {TOKEN}"}
    kernel = requests.post(f"{base}/api/kernels", headers=headers, json={}, timeout=60).json()
    url = f"{base.replace('http', 'ws', 1)}/api/kernels/{kernel['id']}/channels"
    ws = await websocket_connect(HTTPRequest(url, headers=headers))
    session, out = uuid.uuid4().hex, []
    try:
        for code in cells:
            msg_id = uuid.uuid4().hex
            await ws.write_message(json.dumps({
                "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session,
                           "username": "test", "version": "5.3"},
                "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                "content": {"code": code, "silent": False, "store_history": True,
                            "user_expressions": {}, "allow_stdin": False,
                            "stop_on_error": True}}))
            # the reply (shell channel) may come before the outputs (iopub): a cell is done
            # once both the reply and iopub's `idle`, which follows every output, arrived
            text, status, idle = [], None, False
            while status is None or not idle:
                raw = await asyncio.wait_for(ws.read_message(), timeout=300)
                assert raw is not None, "the kernel's websocket closed"
                msg = json.loads(raw)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["header"]["msg_type"], msg["content"]
                if kind == "stream":
                    text.append(content["text"])
                elif kind in ("execute_result", "display_data"):
                    text.append(content["data"].get("text/plain", ""))
                elif kind == "error":
                    text.append("\n".join(content["traceback"]))
                elif kind == "execute_reply":
                    status = content["status"]
                elif kind == "status" and content.get("execution_state") == "idle":
                    idle = True
            out.append({"status": status, "text": "".join(text)})
            if status != "ok":
                break
    finally:
        ws.close()
        requests.delete(f"{base}/api/kernels/{kernel['id']}", headers=headers, timeout=30)
    return out


@pytest.fixture(params=["simple", "local"])
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if shutil.which("configurable-http-proxy") is None:
        pytest.fail("npm's configurable-http-proxy is not installed (.ci/run installs it: "
                    "npm install -g configurable-http-proxy)")
    local = request.param == "local"
    if local and os.geteuid() != 0:
        pytest.fail("LocalProcessSpawner needs the hub to run as root (CI does)")
    # learner names the machine has no user of: the local spawner's Unix users are made for them
    names = tuple(f"lk{n}{uuid.uuid4().hex[:5]}" for n in NAMES) if local else NAMES
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LABKIT_"))}
    home = tmp_path / "instructor"
    # the local spawner's learners' homes and their servers' Python: where their own users can
    # reach them (pytest's tmp is root's only)
    shared = Path(f"/tmp/labkit-hub-{uuid.uuid4().hex[:8]}") if local else tmp_path
    homes = shared / "learners"
    users: list[str] = []
    proc, log = None, None
    try:
        homes.mkdir(mode=0o755, parents=True)
        shared.chmod(0o755)
        python = _servers_python(shared) if local else Path(sys.executable)
        for name in names if local else ():
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name],
                           check=True)
            users.append(name)
        labkit(env, "classroom", "up", "--names", ",".join(names), "--home", str(home),
               "--port", str(free_port()))
        port, hub_port, proxy_port = free_port(), free_port(), free_port()
        config = tmp_path / "jupyterhub_config.py"
        config.write_text(CONFIG.format(
            port=port, hub_port=hub_port, proxy_port=proxy_port, tmp=tmp_path, token=TOKEN,
            homes=homes, python=python, join_file=home / "room" / "join.txt",
            spawner=(LOCAL if local else SIMPLE).format(tmp=tmp_path)))
        env["PATH"] = f"{python.parent}{os.pathsep}{env['PATH']}"  # the servers' aws, labkit
        log = (tmp_path / "hub.log").open("w")
        proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)],
                                cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        api = f"http://127.0.0.1:{port}/hub/api"
        _wait(lambda: requests.get(api, timeout=5).status_code == 200, "the hub to answer")
        yield {"url": f"http://127.0.0.1:{port}", "api": api, "home": home, "tmp": tmp_path,
               "log": tmp_path / "hub.log", "names": names, "homes": homes, "local": local}
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)  # the hub, its proxy and the users' servers
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if log is not None:
            log.close()
        for name in names:
            learner = homes / name
            if (learner / "labkit" / "room.json").exists():
                labkit({**env, "LABKIT_HOME": str(learner / "labkit"),
                        "AWS_CONFIG_FILE": str(learner / "aws" / "config"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(learner / "aws" / "credentials")},
                       "classroom", "leave")
        from labkit.lab import process

        process.stop(home)
        for name in users:  # the Unix users the test made, their homes and their processes
            subprocess.run(["pkill", "-KILL", "-u", name], check=False)
            subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)
        if local:
            shutil.rmtree(shared, ignore_errors=True)


def test_three_hub_users_each_run_a_notebook_as_their_learner(hub: dict[str, Any]) -> None:
    api, headers, names = hub["api"], {"Authorization": f"token {TOKEN}"}, hub["names"]
    for name in names:  # the hub made the users (the room's learners are its allowed users)
        assert requests.get(f"{api}/users/{name}", headers=headers, timeout=30).ok
        r = requests.post(f"{api}/users/{name}/server", headers=headers, timeout=120)
        assert r.status_code in (201, 202), (r.status_code, r.text)
    for name in names:
        _wait(lambda n=name: requests.get(f"{api}/users/{n}", headers=headers, timeout=10)
              .json()["servers"].get("", {}).get("ready"), f"{name}'s server", timeout=120)
    nb = json.loads((ROOT / "notebooks" / f"{NOTEBOOK}.ipynb").read_text())
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    # who the kernel runs as, and whether it can read the next learner's keys (the cell's value)
    whoami = ("import os, pwd\n"
              "try:\n    open({keys!r}).read()\n    read = 'READ-ANOTHERS-KEYS'\n"
              "except OSError as e:\n    read = ''\n"
              "f'{{pwd.getpwuid(os.getuid()).pw_name}} {{read}}'")

    def theirs(i: int) -> list[str]:
        other = hub["homes"] / names[(i + 1) % len(names)] / "aws" / "credentials"
        return [*cells, whoami.format(keys=str(other))]

    async def everyone() -> list[list[dict[str, Any]]]:
        return await asyncio.gather(*(_run_cells(f"{hub['url']}/user/{n}", theirs(i))
                                      for i, n in enumerate(names)))

    results = dict(zip(names, asyncio.run(everyone()), strict=True))
    for name, ran in results.items():
        failed = [r for r in ran if r["status"] != "ok"]
        assert not failed and len(ran) == len(cells) + 1, (name, failed[-1:] or ran[-1:],
                                                           hub["log"].read_text()[-2000:])
        first = ran[0]["text"]
        assert f"ready for {NOTEBOOK}" in first and "target: lab at 127.0.0.1:" in first, first
        user, *read = ran[-1]["text"].strip("'\"").split()
        if hub["local"]:  # the learner's own Unix user, owning a home nobody else reads
            assert user == name and not read, ran[-1]
            keys = hub["homes"] / name / "aws" / "credentials"
            assert keys.owner() == name and (keys.parent.parent.stat().st_mode & 0o077) == 0
        else:  # every server is the hub's user: this spawner does not keep learners apart
            assert user == "root" and read == ["READ-ANOTHERS-KEYS"], (name, ran[-1])

    from labkit.lab import process

    rows = {r["name"]: r for r in process.running(hub["home"]).board()["rows"]}
    for name in names:
        assert {"logged_in", "pushed"} <= set(rows[name]["steps"]), rows[name]
        learner = hub["homes"] / name / "labkit" / "room.json"
        assert json.loads(learner.read_text())["name"] == name  # joined by the hub's hook
