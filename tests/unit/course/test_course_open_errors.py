"""`labkit course open` says clearly why it cannot start: a taken port (JupyterLab missing:
tests/integration/course/test_course_open.py)."""

from __future__ import annotations

import socket

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
