"""Run `labkit course open --no-browser` as a learner would, and read the URL it prints.

Shared by the open command's tests, the installed-wheel test, the browser test and the
time-to-JupyterLab benchmark.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

URL = re.compile(r"(http://127\.0\.0\.1:\d+/lab/tree/\S+\?token=[0-9a-f]+)")


def learner_env(**extra: str) -> dict[str, str]:
    """The caller's environment without labkit/AWS settings or PYTHONPATH (a learner's shell
    has neither), plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LABKIT_", "AWS_")) and k != "PYTHONPATH"}
    env.update(extra)
    return env


class OpenCourse:
    """`labkit course open` running in the background; `.url` once JupyterLab answers."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], cwd: Path,
                 timeout: float = 180, sigint_ignored: bool = False):
        """`sigint_ignored`: start it as a shell script's background job is started, with
        SIGINT ignored (Ctrl-C must stop it all the same)."""
        self.lines: list[str] = []
        ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored \
            else None
        self.proc = subprocess.Popen(list(argv), env=env, cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True, preexec_fn=ignore)
        self.url = self._wait_for_url(timeout)

    def _wait_for_url(self, timeout: float) -> str:
        found: list[str] = []

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.lines.append(line.rstrip("\n"))
                m = URL.search(line)
                if m and not found:
                    found.append(m.group(1))

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not found and self.proc.poll() is None:
            time.sleep(0.1)
        if not found:
            time.sleep(0.3)
            self.stop()
            raise AssertionError("no URL printed by `labkit course open`:\n" + self.output)
        return found[0]

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def stop(self) -> int:
        """Ctrl-C, as a learner would; the command stops its JupyterLab and exits."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode
