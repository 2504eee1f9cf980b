"""The instructor's board in a real browser (headless Chromium): opened with the one-time URL
`labkit lab board` prints, it shows a learner's push as it happens, without a reload, and its
CSV link downloads the table with the board's session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.browser import lab_browser
from tests.conftest import lab_environ, need
from tests.integration.lab.labs import aws
from tests.integration.lab.test_lab_seed_flow import sh

pytestmark = pytest.mark.browser

DOCKER = f"{sys.executable} -m labkit docker"


def learner_env(lab: Any, tmp: Path) -> dict[str, str]:
    """The learner's shell: the lab's exports and the built-in engine, with its own store and
    docker config."""
    return dict(lab_environ(lab, tmp / "docker-config"), LABKIT_ENGINE="builtin",
                LABKIT_ENGINE_HOME=str(tmp / "engine"))


def learner_pushes(lab: Any, env: dict[str, str]) -> None:
    """What each browser must see arrive: the learner creates hello-app, logs in, builds v1
    and pushes it, as the course's commands do."""
    aws(env, "ecr", "create-repository", "--repository-name", "hello-app")
    ref = f"{lab.registry}/hello-app:v1"
    sh(f"aws ecr get-login-password | {DOCKER} login --username AWS --password-stdin "
       f"{lab.registry} && {DOCKER} build -q -t {ref} "
       f"\"$({sys.executable} -m labkit sample path v1)\" >/dev/null && {DOCKER} push {ref}",
       env)


def cell(account: str, step: str) -> str:
    return (f"document.querySelector('tr[data-account=\"{account}\"] "
            f"td[data-step=\"{step}\"]')")


def test_the_board_shows_a_push_without_a_reload(private_lab: Any, tmp_path: Path,
                                                  require_aws_cli: None) -> None:
    need(not lab_browser.missing(), lab_browser.missing())
    lab = private_lab
    env = learner_env(lab, tmp_path)
    url = lab.board_url()  # what `labkit lab board` prints
    driver = lab_browser.chromium(tmp_path / "profile")
    try:
        driver.get(url)
        pushed = cell(lab.account_id, "pushed")
        lab_browser.wait_for(driver, f"{pushed} && {pushed}.dataset.done === '0'", 20,
                             "the board's row of the lab's learner")
        assert driver.current_url == f"{lab.endpoint_url}/_labkit/board"  # the ticket is gone
        driver.execute_script("window.notReloaded = true")

        learner_pushes(lab, env)

        lab_browser.wait_for(driver, f"{pushed}.dataset.done === '1'", 20,
                             "the push on the board")
        assert driver.execute_script("return window.notReloaded") is True
        for step in ("created", "logged_in"):
            assert driver.execute_script(f"return {cell(lab.account_id, step)}.dataset.done") \
                == "1", step
        assert driver.execute_script(f"return {cell(lab.account_id, 'reused')}.dataset.done") \
            == "0"
        status = driver.execute_script("return document.getElementById('status').textContent")
        assert status.startswith("live"), status
        text = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch(document.getElementById('csv').href).then(r => r.text()).then(done)")
        lines = text.splitlines()
        assert lines[0].startswith("account,name,repository created") and \
            lines[1].startswith(lab.account_id), text
    finally:
        driver.quit()


def test_the_board_follows_a_tls_room_of_thirty_live(tmp_path: Path, require_docker: None,
                                                    require_aws_cli: None) -> None:
    """The room over TLS (the lab's own CA; Chromium accepts exactly the lab's certificate):
    30 learners, each an account, do the course's flow at once with the built-in engine, two
    more with the real docker CLI, and five of the thirty push before creating their
    repository. The page, opened before they start and never reloaded, ends with a row per
    learner, every step they did done, and the five's failure shown as got past."""
    need(not lab_browser.missing(), lab_browser.missing())
    from labkit.engines.base import EngineError
    from labkit.lab import process
    from labkit.lab.tls.layout import TlsFiles
    from tests.conftest import free_port
    from tests.reliability import room

    home = tmp_path / "lab-home"
    lab = process.start(home, port=free_port(), tls=True)
    driver = None
    try:
        learners = room.prepare(lab, tmp_path / "room", 32, layer_bytes=16 << 10,
                                accounts=True)
        by_docker, builtin = learners[:2], learners[2:]
        hasty = builtin[::6][:5]
        driver = lab_browser.chromium(tmp_path / "profile",
                                      lab_browser.trusting(TlsFiles(home).server_cert))
        driver.get(lab.board_url())
        lab_browser.wait_for(driver, "document.querySelectorAll('tr[data-account]').length "
                             ">= 33", 30, "a row per learner (and the lab's own)")
        driver.execute_script("window.notReloaded = true")
        for x in hasty:
            x.engine.login(x.registry, *room.support.registry_credentials(x.ecr))
            with pytest.raises(EngineError, match="name unknown"):
                x.engine.push(x.refs["1.0"], progress=False)

        def docker_flow(x: room.Learner) -> None:
            env = dict(lab_environ(lab, tmp_path / f"docker-{x.index}"),
                       AWS_ACCESS_KEY_ID=x.keys[0], AWS_SECRET_ACCESS_KEY=x.keys[1])
            ref = f"{x.registry}/hello-app:v1"
            sh("aws ecr create-repository --repository-name hello-app >/dev/null && "
               f"aws ecr get-login-password | docker login --username AWS --password-stdin "
               f"{x.registry} >/dev/null && docker build -q -t {ref} "
               f"\"$({sys.executable} -m labkit sample path v1)\" >/dev/null && "
               f"docker push {ref} >/dev/null && docker pull {ref} >/dev/null", env)

        threads = [threading.Thread(target=docker_flow, args=(x,)) for x in by_docker]
        for t in threads:
            t.start()
        result = room.run(lab, builtin, timeout=420)
        for t in threads:
            t.join(timeout=300)
        assert not result.lost, "\n".join(result.lost)

        rows = {r["name"]: r for r in lab.board()["rows"]}
        for x in learners:
            acct = rows[f"learner-{x.index:03d}"]["account"]
            want = ("created", "logged_in", "pushed", "pulled") + \
                (() if x in by_docker else ("reused",))
            for step in want:
                lab_browser.wait_for(driver, f"{cell(acct, step)}.dataset.done === '1'", 30,
                                     f"learner {x.index}'s {step} on the page")
            failure = driver.execute_script(
                f"const td = document.querySelector('tr[data-account=\"{acct}\"] td.failure');"
                "return [td.className, td.textContent]")
            if x in hasty:
                assert "resolved" in failure[0] and "hello-app" in failure[1], failure
            else:
                assert failure[1] == "", (x.index, failure)
        assert driver.execute_script("return window.notReloaded") is True
    finally:
        if driver is not None:
            driver.quit()
        process.stop(home)


FIREFOX = Path("/usr/bin/firefox-esr")
NODE_MODULES = Path(os.environ.get("LABKIT_TEST_NODE_MODULES", "/opt/labkit-test-node/node_modules"))


def test_the_board_in_firefox_shows_a_push_without_a_reload(private_lab: Any, tmp_path: Path,
                                                            require_aws_cli: None) -> None:
    """The same page in headless Firefox (WebDriver BiDi through puppeteer-core; .ci/run
    installs firefox-esr and puppeteer-core): the one-time URL opens it, and a learner's push
    appears without a reload."""
    need(FIREFOX.exists() and (NODE_MODULES / "puppeteer-core").is_dir() and shutil.which("node"),
         "Firefox ESR, node and puppeteer-core (installed by .ci/run)")
    lab = private_lab
    env = learner_env(lab, tmp_path)
    pushed = cell(lab.account_id, "pushed")
    node = subprocess.Popen(
        ["node", str(Path(__file__).with_name("firefox_board.cjs")), lab.board_url(),
         f"{pushed} && {pushed}.dataset.done === '1'"],
        env={**os.environ, "NODE_PATH": str(NODE_MODULES), "HOME": str(tmp_path)},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert node.stdout is not None and node.stdin is not None
        assert node.stdout.readline().strip() == "ready", node.stderr.read() if node.stderr else ""
        learner_pushes(lab, env)
        out, err = node.communicate("go\n", timeout=90)
        assert node.returncode == 0, err
        seen = json.loads(out.strip().splitlines()[-1])
        assert seen["notReloaded"] and seen["url"] == f"{lab.endpoint_url}/_labkit/board"
        assert seen["status"].startswith("live") and "Firefox/" in seen["ua"], seen
    finally:
        if node.poll() is None:
            node.kill()


MINIBROWSER = next(iter(sorted(Path("/usr/lib").glob("*/webkit2gtk-4.*/MiniBrowser"))), None)


def _xvfb(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    """An X server of the test's own (WebKitGTK's MiniBrowser needs a display), on the first
    free display number."""
    for n in range(90, 200):
        if Path(f"/tmp/.X{n}-lock").exists() or Path(f"/tmp/.X11-unix/X{n}").exists():
            continue
        proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1280x1024x24", "-nolisten",
                                 "tcp"], stdout=subprocess.DEVNULL,
                                stderr=(tmp / "xvfb.log").open("wb"))
        for _ in range(50):
            if Path(f"/tmp/.X11-unix/X{n}").exists():
                return proc, f":{n}"
            if proc.poll() is not None:
                break
            threading.Event().wait(0.1)
        proc.kill()
    raise AssertionError("no X display could be started")


def test_the_board_in_webkit_shows_a_push_without_a_reload(private_lab: Any, tmp_path: Path,
                                                           require_aws_cli: None,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """The same page in WebKit, Safari's engine (WebKitGTK's MiniBrowser and WebKitWebDriver,
    Debian's webkit2gtk-driver, on an Xvfb display; .ci/run installs them): the one-time URL
    opens it, and a learner's push appears without a reload."""
    need(MINIBROWSER is not None and shutil.which("WebKitWebDriver") and shutil.which("Xvfb"),
         "WebKitGTK's MiniBrowser and WebKitWebDriver, and Xvfb (installed by .ci/run)")
    from selenium import webdriver
    from selenium.webdriver.webkitgtk.service import Service

    lab = private_lab
    env = learner_env(lab, tmp_path)
    xvfb, display = _xvfb(tmp_path)
    monkeypatch.setenv("DISPLAY", display)
    driver = None
    try:
        options = webdriver.WebKitGTKOptions()
        options.binary_location = str(MINIBROWSER)
        options.add_argument("--automation")
        driver = webdriver.WebKitGTK(options=options, service=Service(
            executable_path=shutil.which("WebKitWebDriver")))
        driver.get(lab.board_url())
        pushed = cell(lab.account_id, "pushed")
        lab_browser.wait_for(driver, f"{pushed} && {pushed}.dataset.done === '0'", 30,
                             "the board's row of the lab's learner")
        driver.execute_script("window.notReloaded = true")
        learner_pushes(lab, env)
        lab_browser.wait_for(driver, f"{pushed}.dataset.done === '1'", 30, "the push on the board")
        assert driver.execute_script("return window.notReloaded") is True
        assert "AppleWebKit/" in driver.execute_script("return navigator.userAgent")
        assert driver.current_url == f"{lab.endpoint_url}/_labkit/board"
    finally:
        if driver is not None:
            driver.quit()
        xvfb.kill()
        xvfb.wait(timeout=10)
