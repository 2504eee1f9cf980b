"""Whether a Docker Engine answers: `docker_available`, asked before anything else runs.

`labkit lab env`, every notebook's first cell and `labkit doctor` ask it, so on the usual local
socket (`unix://`, the default on Linux and macOS) it is one `GET /_ping` on the socket, without
loading the docker SDK (about 0.2 s of imports a call); any other `DOCKER_HOST` (tcp, ssh, TLS,
Windows' named pipe) goes through the SDK, which knows how to reach it.
"""

from __future__ import annotations

import os
import socket

DEFAULT_SOCKET = "/var/run/docker.sock"  # the docker SDK's and CLI's default on POSIX


def docker_available(timeout: float = 5.0) -> bool:
    """True when a Docker Engine answers a ping within `timeout` seconds. Without an engine the
    socket refuses at once; the timeout only bounds a daemon that is there but busy (a loaded
    2-core machine answered in over a second), which must not read as "no Docker"."""
    host = os.environ.get("DOCKER_HOST", "")
    if os.name != "nt" and (not host or host.startswith("unix://")):
        return _ping_unix(host[len("unix://"):] or DEFAULT_SOCKET, timeout)
    return _ping_sdk(timeout)


def _ping_unix(path: str, timeout: float) -> bool:
    """`GET /_ping` on the engine's socket: the Engine API's health check (200, body OK)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(path)
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            answer = b""
            while b"\r\n" not in answer and len(answer) < 4096:
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
    except OSError:  # no socket, refused, no permission, timed out
        return False
    parts = answer.split(b"\r\n", 1)[0].split()
    return len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1] == b"200"


def _ping_sdk(timeout: float) -> bool:
    import docker
    import requests
    from docker.errors import DockerException

    try:
        client = docker.APIClient(**docker.utils.kwargs_from_env(), timeout=timeout,
                                  version="1.24")
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (DockerException, requests.RequestException, OSError):
        return False
