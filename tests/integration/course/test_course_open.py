"""`labkit course open`: a workspace of the learner's own, JupyterLab on loopback with a token."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from labkit.course.state import NOTEBOOKS
from tests.course_open import OpenCourse, learner_env


def _open(ws: Path) -> OpenCourse:
    """Without --port: the command picks one (8888, else a free one; again if it was taken).

    Started with SIGINT ignored, as a script's background job (or CI) starts it: the test's
    Ctrl-C must stop it all the same."""
    return OpenCourse([sys.executable, "-m", "labkit", "course", "open", "--dir", str(ws),
                       "--no-browser"], learner_env(), cwd=ws.parent, sigint_ignored=True)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""


def test_open_serves_the_workspace_and_keeps_the_learners_work(tmp_path: Path) -> None:
    ws = tmp_path / "my-course"
    first = _open(ws)
    try:
        m = re.match(r"http://127\.0\.0\.1:(\d+)/lab/tree/notebooks/00-setup\.ipynb\?token=",
                     first.url)
        assert m, first.url
        port = int(m.group(1))
        status, page = _get(first.url)
        assert status == 200 and "JupyterLab" in page
        token = first.url.split("token=", 1)[1]
        status, body = _get(f"http://127.0.0.1:{port}/api/contents/notebooks/00-setup.ipynb"
                            f"?token={token}")
        assert status == 200 and json.loads(body)["type"] == "notebook"
        # token-protected: the same API without the token is refused
        assert _get(f"http://127.0.0.1:{port}/api/contents/notebooks/00-setup.ipynb")[0] == 403
        assert f"added {len(NOTEBOOKS)} notebook(s)" in first.output
    finally:
        assert first.stop() == 0
    # Ctrl-C stopped JupyterLab: nothing listens on its port any more
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()

    mine = ws / "notebooks" / "03-tag.ipynb"
    nb = json.loads(mine.read_text())
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "my own notes"})
    mine.write_text(json.dumps(nb))
    edited = mine.read_bytes()
    second = _open(ws)
    try:
        assert f"kept your {len(NOTEBOOKS)} notebook(s)" in second.output
        assert mine.read_bytes() == edited
    finally:
        second.stop()


def test_a_taken_port_fails_clearly(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "labkit", "course", "open", "--dir",
                            str(tmp_path / "ws"), "--port", str(port), "--no-browser"],
                           env=learner_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in r.stderr


def test_without_jupyterlab_it_says_how_to_get_it(tmp_path: Path) -> None:
    """A Python where `import jupyterlab` finds nothing: a clear error, no workspace made."""
    code = ("import sys; sys.modules['jupyterlab'] = None  # as if it were not installed\n"
            "from labkit.cli import main\n"
            f"sys.exit(main(['course', 'open', '--dir', {str(tmp_path / 'ws')!r}, "
            "'--no-browser']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "JupyterLab is not installed in this Python" in r.stderr
    assert "pip install 'jupyterlab>=4.1,<5'" in r.stderr
    assert not (tmp_path / "ws").exists()
