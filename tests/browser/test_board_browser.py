"""The instructor's board in a real browser (headless Chromium): opened with the one-time URL
`labkit lab board` prints, it shows a learner's push as it happens, without a reload, and its
CSV link downloads the table with the board's session."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.browser import lab_browser
from tests.conftest import lab_environ, need
from tests.integration.lab.labs import aws
from tests.integration.lab.test_lab_seed_flow import sh

pytestmark = pytest.mark.browser

DOCKER = f"{sys.executable} -m labkit docker"


def cell(account: str, step: str) -> str:
    return (f"document.querySelector('tr[data-account=\"{account}\"] "
            f"td[data-step=\"{step}\"]')")


def test_the_board_shows_a_push_without_a_reload(private_lab: Any, tmp_path: Path,
                                                  require_aws_cli: None) -> None:
    need(not lab_browser.missing(), lab_browser.missing())
    lab = private_lab
    env = dict(lab_environ(lab, tmp_path / "docker-config"), LABKIT_ENGINE="builtin",
               LABKIT_ENGINE_HOME=str(tmp_path / "engine"))
    url = lab.board_url()  # what `labkit lab board` prints
    driver = lab_browser.chromium(tmp_path / "profile")
    try:
        driver.get(url)
        pushed = cell(lab.account_id, "pushed")
        lab_browser.wait_for(driver, f"{pushed} && {pushed}.dataset.done === '0'", 20,
                             "the board's row of the lab's learner")
        assert driver.current_url == f"{lab.endpoint_url}/_labkit/board"  # the ticket is gone
        driver.execute_script("window.notReloaded = true")

        aws(env, "ecr", "create-repository", "--repository-name", "hello-app")
        ref = f"{lab.registry}/hello-app:v1"
        sh(f"aws ecr get-login-password | {DOCKER} login --username AWS --password-stdin "
           f"{lab.registry} && {DOCKER} build -q -t {ref} "
           f"\"$({sys.executable} -m labkit sample path v1)\" >/dev/null && {DOCKER} push {ref}",
           env)

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
