"""One ECR registry per account and region, as on AWS: `--region eu-west-1` sees eu-west-1's
repositories only, another account's repositories are its own, and each registry has an address
of its own.

A `Region` is everything one region of one account has: the ECR backend on its own store
(`RegistryFiles.under(...)`; the lab's account's home region keeps the lab's first layout), its
lifecycle schedule and garbage collector, its `/v2/` front door (the access gate over the
registry) and its ECR API app. `Regions` makes them:

- the lab's account's home region (`--region`, default us-east-1) at start, on the lab's port;
- any other (account, region) the first time a caller whose signature verifies makes an ECR
  call for it: signed for the region (`aws ecr create-repository --region eu-west-1`), in the
  caller's account or the one its `registryId` names (`--registry-id`, a cross-account call);
  on a port of its own: eu-west-1's registry is `127.0.0.1:PORT`, which docker on Linux,
  macOS and Windows reaches without a hosts-file entry, and treats as a local registry (plain
  HTTP) as it does the lab's first port. (Host names such as `eu-west-1.localhost` would read
  better, but glibc does not resolve them without systemd-resolved, and the docker daemon asks
  the system's resolver.) The port is kept in the region's folder, and the region opens again
  on it when the lab restarts.

ECR API calls reach any of them through the lab's one endpoint; `/v2/` requests reach the
registry whose port they came to. A registry token names the region it was issued in, and
another region's registry refuses it as ECR does; another account's registry takes it, and its
policies decide (labkit/lab/access).
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
CHOSEN = "labkit.region"  # environ key: the Region an API call was routed to
ACCOUNTS = config.ACCOUNTS_FOLDER  # LABKIT_HOME/accounts/ACCOUNT/regions/NAME: other accounts'
FOLDER = config.REGIONS_FOLDER  # under the lab's home: regions/eu-west-1/{store,...,door.json}
DOOR_FILE = config.DOOR_FILE


@dataclass
class Region:
    """One region's registry (of one account): its store, its ECR backend and the apps that
    serve them."""

    account: str
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

    def __init__(self, app: LabApp, build: Callable[[str, str, Any, Callable[[], str]], Region],
                 open_door: OpenDoor | None):
        self.app = app
        self._build = build
        self._open_door = open_door
        self._lock = threading.Lock()
        self._by_key: dict[tuple[str, str], Region] = {}
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
        """The registry an ECR API call is for: the region it is signed for, in the account its
        `registryId` names (a lab account) or else the caller's. One not used yet is made only
        for a caller whose signature verifies (anyone else gets the home region's refusal): an
        anonymous request must not make the lab open ports."""
        access = self.app.access
        scope = access.signed_scope(environ)
        body = _read_body(environ)
        if scope is None or body is None:  # unsigned, or too large: the home region refuses
            return self._chosen(environ, self.home)
        key_id, region, _service = scope
        caller = access.store.caller(key_id)  # unverified: the region's API app verifies
        account = caller.principal.account if caller is not None else self.home.account
        accounts = access.store.accounts()
        named = _registry_id(body) if len(accounts) > 1 else None  # one account: none to name
        if named is not None and named in accounts:
            account = named
        found = self._by_key.get((account, region))
        if found is not None:
            return self._chosen(environ, found)
        from ..access import AccessError

        try:
            verified = access.authenticate(environ, body)
        except AccessError:
            return self._chosen(environ, self.home)
        return self._chosen(environ, self.open(account, verified.region))

    @staticmethod
    def _chosen(environ: Environ, region: Region) -> Region:
        environ[CHOSEN] = region
        return region

    def chosen(self, environ: Environ) -> Region:
        """The region `for_api` routed this call to (the home region's by default)."""
        return environ.get(CHOSEN) or self.home

    # ---- making them ----
    def open(self, account: str, name: str) -> Region:
        """Region `name` of `account`, made (store, backend, front door) if it is new."""
        with self._lock:
            found = self._by_key.get((account, name))
            if found is not None:
                return found
            folder = self._folder(account, name)
            folder.mkdir(parents=True, exist_ok=True)
            door: dict[str, int | None] = {"port": None}
            region = self._make(account, name, folder, lambda: self._host(door["port"]))
            if self._open_door is not None:
                door["port"] = region.port = self._bind(folder)
                self._by_port[region.port] = region
            self._by_key[(account, name)] = region
        region.housekeeping.start()
        log.info("account %s, region %s: its registry is %s", account, name,
                 self._host(region.port))
        return region

    def reopen(self) -> None:
        """The registries a previous run of this home used (their folders), on their ports."""
        home = self.app.settings.home
        found = [(self.home.account, f) for f in _folders(home / FOLDER)]
        for account in _folders(home / ACCOUNTS):
            found += [(account.name, f) for f in _folders(account / FOLDER)]
        for account, folder in found:
            if (account, folder.name) != (self.home.account, self.home.name):
                self.open(account, folder.name)

    def _folder(self, account: str, name: str) -> Path:
        home = self.app.settings.home
        if account == self.home.account:
            return home / FOLDER / name
        return home / ACCOUNTS / account / FOLDER / name

    def _make_home(self) -> Region:
        from ..control.ecr_registry import RegistryFiles

        settings = self.app.settings
        region = self._build(settings.account_id, settings.region,
                             RegistryFiles.in_home(settings.home), lambda: settings.registry_host)
        self._by_key[(region.account, region.name)] = region
        return region

    def _make(self, account: str, name: str, folder: Path, host: Callable[[], str]) -> Region:
        from ..control.ecr_registry import RegistryFiles

        return self._build(account, name, RegistryFiles.under(folder), host)

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
        return list(self._by_key.values())

    def hosts(self, account: str | None = None) -> dict[str, str]:
        """Each region's registry address in `account` (default: the lab's; its status)."""
        account = account or self.home.account
        return {r.name: self._host(r.port) for r in self.all() if r.account == account}

    def open_home(self, account: str) -> Region:
        """`account`'s registry in the lab's region, made if it is new (a new account's, at
        once, so whoever made it can be told where it is)."""
        return self.open(account, self.home.name)

    def address(self, region: Region) -> str:
        """The `host:port` a region's registry is reached at."""
        return self._host(region.port)

    def owners(self) -> dict[str, str]:
        """Every registry's address -> its account: whose door a request came to (the board's
        and a learner's trace tell learners apart by it)."""
        return {self._host(r.port): r.account for r in self.all()}

    def accounts(self) -> dict[str, dict[str, str]]:
        """The other accounts' registries: {account: {region: address}} (the lab's status)."""
        return {a: self.hosts(a) for a in sorted({r.account for r in self.all()})
                if a != self.home.account}


def _read_body(environ: Environ) -> bytes | None:
    """The request body, read once (as the ECR API reads it) and put back for the region's API
    app; None when it is over the API's limit (then it is not read)."""
    from ..control.errors import EcrError
    from ..control.responses import read_body

    try:
        body = read_body(environ)
    except EcrError:
        return None
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def _registry_id(body: bytes) -> str | None:
    """The `registryId` an ECR API call names (JSON body), if it names one."""
    from ..control.errors import EcrError
    from ..control.responses import parse_body

    try:
        doc = parse_body(body)
    except EcrError:
        return None
    value = doc.get("registryId") if isinstance(doc, dict) else None
    return value if isinstance(value, str) else None
