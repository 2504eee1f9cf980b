"""One ECR registry per region, as on AWS: `--region eu-west-1` sees eu-west-1's repositories
only, and each region's registry has an address of its own.

A `Region` is everything one region of the lab's account has: the ECR backend on its own store
(`RegistryFiles.under(home/regions/NAME)`; the home region keeps the lab's first layout), its
lifecycle schedule and garbage collector, its `/v2/` front door (the access gate over the
registry) and its ECR API app. `Regions` makes them:

- the home region (`--region`, default us-east-1) at start, on the lab's port;
- another region the first time a caller whose signature verifies signs an ECR call for it
  (`aws ecr create-repository --region eu-west-1`), on a port of its own: the registry address
  of eu-west-1 is `127.0.0.1:PORT`, which docker on Linux, macOS and Windows reaches without a
  hosts-file entry, and treats as a local registry (plain HTTP) as it does the lab's first port.
  (Host names such as `eu-west-1.localhost` would read better, but glibc does not resolve them
  without systemd-resolved, and the docker daemon asks the system's resolver.) The port is kept
  in the region's folder, and the region opens again on it when the lab restarts.

ECR API calls reach any region through the lab's one endpoint (the SigV4 scope names the
region, as the AWS CLI signs it for `--region`); `/v2/` requests reach the region whose port
they came to. A registry token names the region it was issued in, and another region's
registry refuses it as ECR does.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import config

if TYPE_CHECKING:
    from ..control.backend import EcrBackend
    from ..housekeeping.service import Housekeeping
    from ..registry.storage import Storage
    from .app import LabApp

log = logging.getLogger("labkit.lab")
Environ = dict[str, Any]
WSGIApp = Callable[[Environ, Callable[..., Any]], Iterable[bytes]]
OpenDoor = Callable[[int], int]  # bind a front door for the app (0 or a wished port): its port
FOLDER = config.REGIONS_FOLDER  # under the lab's home: regions/eu-west-1/{store,...,door.json}
DOOR_FILE = config.DOOR_FILE


@dataclass
class Region:
    """One region's registry: its store, its ECR backend and the apps that serve them."""

    name: str
    control: EcrBackend
    housekeeping: Housekeeping
    registry: WSGIApp  # /v2/ and /_storage/, behind the access gate, traced
    api: WSGIApp  # ECR API calls signed for this region
    gate: Any
    port: int | None = None  # its own front door's port (None: the lab's first port)

    @property
    def storage(self) -> Storage:
        return self.control.storage


class Regions:
    """The lab's regions, made on first use (see the module doc)."""

    def __init__(self, app: LabApp, build: Callable[[str, Any, Callable[[], str]], Region],
                 open_door: OpenDoor | None):
        self.app = app
        self._build = build
        self._open_door = open_door
        self._lock = threading.Lock()
        self._by_name: dict[str, Region] = {}
        self._by_port: dict[int, Region] = {}
        self.home = self._make_home()

    # ---- which region answers ----
    def for_registry(self, environ: Environ) -> Region:
        """The region whose front door the request came to (the home region's by default)."""
        try:
            port = int(environ.get("SERVER_PORT") or 0)
        except ValueError:
            port = 0
        return self._by_port.get(port, self.home)

    def for_api(self, environ: Environ) -> Region:
        """The region an ECR API call is signed for. A region not used yet is made only for a
        caller whose signature verifies (anyone else gets the home region's refusal): an
        anonymous request must not make the lab open ports."""
        name = self.app.access.signed_region(environ) or self.home.name
        found = self._by_name.get(name)
        if found is not None:
            return found
        body = _read_body(environ)
        if body is None:  # too large: the home region's API refuses it with ECR's words
            return self.home
        from ..access import AccessError

        try:
            verified = self.app.access.authenticate(environ, body)
        except AccessError:
            return self.home
        return self.open(verified.region)

    def signed_for(self, environ: Environ) -> Region:
        """The existing region an API call is signed for (the home region otherwise)."""
        name = self.app.access.signed_region(environ) or self.home.name
        return self._by_name.get(name, self.home)

    # ---- making them ----
    def open(self, name: str) -> Region:
        """Region `name`, made (store, backend, front door) if it is new."""
        with self._lock:
            found = self._by_name.get(name)
            if found is not None:
                return found
            folder = self.app.settings.home / FOLDER / name
            folder.mkdir(parents=True, exist_ok=True)
            door: dict[str, int | None] = {"port": None}
            region = self._make(name, folder, lambda: self._host(door["port"]))
            if self._open_door is not None:
                door["port"] = region.port = self._bind(folder)
                self._by_port[region.port] = region
            self._by_name[name] = region
        region.housekeeping.start()
        log.info("region %s: its registry is %s", name, self._host(region.port))
        return region

    def reopen(self) -> None:
        """The regions a previous run of this home used (their folders), on their ports."""
        root = self.app.settings.home / FOLDER
        for folder in sorted(root.iterdir()) if root.is_dir() else []:
            if folder.is_dir() and folder.name != self.home.name:
                self.open(folder.name)

    def _make_home(self) -> Region:
        from ..control.ecr_registry import RegistryFiles

        settings = self.app.settings
        region = self._build(settings.region, RegistryFiles.in_home(settings.home),
                             lambda: settings.registry_host)
        self._by_name[region.name] = region
        return region

    def _make(self, name: str, folder: Path, host: Callable[[], str]) -> Region:
        from ..control.ecr_registry import RegistryFiles

        return self._build(name, RegistryFiles.under(folder), host)

    def _bind(self, folder: Path) -> int:
        """A front door for the region: on the port it had (its door.json), else the next
        free one above the lab's, else any."""
        assert self._open_door is not None
        path = folder / DOOR_FILE
        wished: list[int] = []
        try:
            wished.append(int(json.loads(path.read_text())["port"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass
        base = self.app.settings.port
        wished += [p for p in range(base + 1, base + 21) if p not in self._by_port]
        for port in [*wished, 0]:
            try:
                bound = self._open_door(port)
            except OSError:
                continue
            path.write_text(json.dumps({"port": bound}))
            return bound
        raise OSError("no port for the region's registry")

    def _host(self, port: int | None) -> str:
        settings = self.app.settings
        if port is None:
            return settings.registry_host
        return f"{settings.registry_host.rsplit(':', 1)[0]}:{port}"

    # ---- what they are ----
    def all(self) -> list[Region]:
        return list(self._by_name.values())

    def hosts(self) -> dict[str, str]:
        """Each region's registry address (the lab's status)."""
        return {r.name: self._host(r.port) for r in self.all()}


def _read_body(environ: Environ) -> bytes | None:
    """The request body, read once and put back (the region's API app reads it again); None
    when it is over the API's limit (then it is not read)."""
    from ..control.responses import MAX_BODY

    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return None
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body
