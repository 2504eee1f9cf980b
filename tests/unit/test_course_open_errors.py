"""`labkit course open` says clearly why it cannot start (port taken, JupyterLab missing)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.course.tools import open as course_open


def test_a_taken_port_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(course_open.OpenError, match=rf"port {port} on 127.0.0.1 is already "
                                                        r"in use.*different --port"):
            course_open.choose_port(port)


def test_without_a_port_one_that_is_free_is_chosen() -> None:
    port = course_open.choose_port(None)
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # free right now


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
