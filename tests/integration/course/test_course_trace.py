"""The course reads the lab's trace: every request must be in it, even when the client resets.

docker's daemon drops the connection after a 401; the lab used to record requests only in the
response's close(), which werkzeug skips then, so the challenge vanished from the pull flow.
"""

from __future__ import annotations

import pytest


@pytest.mark.usefixtures("require_docker")
def test_every_docker_login_request_is_recorded(lab: object) -> None:
    from labkit.course.state import Course
    from labkit.ecr.target import connect
    from labkit.engines import select

    target = connect(lab=lab)  # type: ignore[arg-type]
    c = Course("02-authenticate", target, select("docker"), lab)
    for _ in range(5):
        mark = c.trace_mark()
        target.login(c.engine)
        seen = [(r.kind, r.route, r.status, r.auth) for r in c.trace(mark)]
        assert seen == [("api", "GetAuthorizationToken", 200, "sigv4"),
                        ("registry", "base", 401, "none"), ("registry", "base", 200, "basic")]
