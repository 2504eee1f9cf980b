"""CNCF Distribution (Debian's `docker-registry`) on a free loopback port.

The reference registry that tests and benchmarks measure the lab and the engines against; one
launcher serves them all, so they all run it the same way: as Debian's package configures it
(`/etc/docker/registry/config.yml`: the in-memory blob descriptor cache, deletes enabled, the
`nosniff` header, the storage health check), with three changes a test run needs: its own
storage folder and loopback port, Basic auth from a given htpasswd file (or none), and no
log but errors (the lab writes no line per request either; Debian's file logs every request).
`tests/unit/test_distribution_config.py` keeps this in step with Debian's file.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import free_port

CONFIG = """\
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
"""
HTPASSWD = """\
auth:
  htpasswd:
    realm: labkit-test
    path: {path}
"""


@dataclass(frozen=True)
class RunningDistribution:
    registry: str  # 127.0.0.1:PORT, what docker and skopeo push to
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://{self.registry}"


@contextlib.contextmanager
def running(workdir: Path, htpasswd: Path | None = None,
            timeout: float = 20) -> Iterator[RunningDistribution]:
    """Start Distribution with its data, config and log under `workdir`; stop it on exit.

    With `htpasswd`, it asks for Basic auth (the file holds `user:bcrypt-hash` lines)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = CONFIG.format(root=workdir / "data", port=port)
    if htpasswd is not None:
        config += HTPASSWD.format(path=htpasswd)
    (workdir / "config.yml").write_text(config)
    log_path = workdir / "log.txt"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(["docker-registry", "serve", str(workdir / "config.yml")],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        _wait_listening(port, proc, log_path, timeout)
        yield RunningDistribution(f"127.0.0.1:{port}", proc)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_listening(port: int, proc: subprocess.Popen[bytes], log_path: Path,
                    timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("docker-registry did not start: "
                                   + log_path.read_text(errors="replace")[-2000:]) from None
            time.sleep(0.05)
