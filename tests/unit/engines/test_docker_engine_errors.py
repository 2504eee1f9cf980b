"""Docker's and ECR's real error texts become guidance tied to the course's steps."""

from __future__ import annotations

import base64
import socket
import threading
import time

import pytest

from labkit.engines.base import EngineError
from labkit.engines.docker.engine import DockerEngine
from labkit.engines.docker.errors import explain, scrub
from labkit.engines.docker.manifest import scheme
from labkit.engines.docker.ping import docker_available

REG = "127.0.0.1:5400"
REF = f"{REG}/hello-app:v1"


@pytest.mark.parametrize(("action", "message", "hint", "command"), [
    ("push", "no basic auth credentials", "log in first (notebook 02-authenticate)",
     f"docker login --username AWS --password-stdin {REG}"),
    ("push", "denied: Your authorization token has expired. Reauthenticate and try again.",
     "log in again", "aws ecr get-login-password"),
    ("push", "name unknown: The repository with name 'hello-app' does not exist in the registry "
             "with id '123456789012'", "create the repository first",
     "aws ecr create-repository --repository-name hello-app"),
    ("push", "tag invalid: The image tag 'v1' already exists in the 'hello-app' repository and "
             "cannot be overwritten because the repository is immutable.",
     "push this image under a new tag", f"docker push {REG}/hello-app:NEW_TAG"),
    ("pull", f"manifest for {REF} not found: manifest unknown: Requested image not found",
     "(notebook 06-pull)", "describe-images --repository-name hello-app"),
    ("push", f'Get "http://{REG}/v2/": dial tcp {REG}: connect: connection refused',
     "lab running", "labkit lab up"),
    ("login", f'Get "http://{REG}/v2/": unauthorized: authentication required',
     "the user is AWS", "get-login-password"),
    ("push", f"An image does not exist locally with the tag: {REG}/hello-app",
     "(notebook 03-tag)", ""),
])
def test_messages_become_guidance(action: str, message: str, hint: str, command: str) -> None:
    err = explain(message, action, REF, REG)
    assert isinstance(err, EngineError)
    assert hint in err.hint and command in err.command
    assert message.strip() in str(err)


def test_unknown_message_passes_through() -> None:
    err = explain("something odd happened", "push", REF, REG)
    assert str(err) == "something odd happened" and err.hint == ""


def test_passwords_never_in_error_texts() -> None:
    password = "eyJwYXlsb2FkIjoic2VjcmV0In0="
    basic = base64.b64encode(f"AWS:{password}".encode()).decode()
    err = explain(f"login failed for AWS:{password} (Authorization: Basic {basic}) "
                  "unauthorized", "login", "", REG, [password])
    assert password not in str(err) and basic not in str(err) and "***" in str(err)
    assert scrub("abc", ["", "zz"]) == "abc"


def test_daemon_down_is_fast_and_guides(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # noqa: ANN001
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    start = time.monotonic()
    assert docker_available() is False
    assert time.monotonic() - start < 1.0
    with pytest.raises(EngineError) as err:
        DockerEngine()
    assert "LABKIT_ENGINE=builtin" in err.value.hint and err.value.command == "docker info"


def test_silent_daemon_times_out_within_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as silent:  # accepts connections (kernel backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{silent.getsockname()[1]}")
        start = time.monotonic()
        assert docker_available(timeout=0.5) is False
        assert time.monotonic() - start < 1.5


def _one_answer(path: str, answer: bytes | None) -> threading.Thread:
    """A Unix socket at `path` that reads one request and sends `answer` (None: stays silent
    until the client gives up)."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)

    def serve() -> None:
        with server:
            conn, _ = server.accept()
            with conn:
                request = conn.recv(4096)
                assert request.startswith(b"GET /_ping HTTP/1.")
                if answer is None:
                    conn.recv(4096)  # returns when the client closes
                else:
                    conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(("answer", "want"), [
    (b"HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nContent-Length: 2\r\n\r\nOK", True),
    (b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n", False),
    (b"SSH-2.0-OpenSSH_9.2\r\n", False),  # something else listens there
    (None, False),  # a daemon that never answers: the timeout decides
])
def test_the_socket_ping_reads_the_engines_answer(monkeypatch: pytest.MonkeyPatch, tmp_path,  # noqa: ANN001
                                                  answer: bytes | None, want: bool) -> None:
    """On `unix://` (the default) the ping is one GET /_ping on the socket, no docker SDK."""
    path = str(tmp_path / "docker.sock")
    thread = _one_answer(path, answer)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    start = time.monotonic()
    assert docker_available(timeout=0.5) is want
    assert time.monotonic() - start < 1.5
    thread.join(timeout=5)


@pytest.mark.parametrize(("registry", "want"), [
    ("127.0.0.1:5400", "http"), ("localhost:5000", "http"), ("[::1]:5000", "http"),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "https"), ("registry.local:5000", "https"),
])
def test_scheme_follows_dockers_loopback_rule(registry: str, want: str) -> None:
    assert scheme(registry) == want
