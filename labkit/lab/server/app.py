"""The lab's one WSGI app: `/v2/` is the registry, `/_storage/` the pre-signed blob store,
`/_labkit/` the lab's own endpoints (admin.py: for the home's secret only), ECR API calls the
lab's ECR backend, and the rest
(STS GetCallerIdentity, the 401 realm, a clear refusal of any other service) `OtherServices`.

Every registry request and ECR API call is authenticated and authorized before the registry or
the backend sees it, the way ECR's front door does (server/authz.py, over the access engine
labkit.lab.access): no credentials or wrong ones get 401 with a Basic challenge, an expired
token 403 DENIED, a request the caller's policies do not allow 403 `denied: User: ...` (the API:
AccessDeniedException). IAM and STS requests go to the access engine.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import __version__
from ...config import LAB_ACCOUNT_ID
from ...trace import record as rec
from ..auth import labkeys
from ..auth.signing import Signer, load_secret
from ..auth.tokens import SERVICE, Token
from ..control.caller import current as current_caller
from ..control.responses import is_ecr_request
from ..trace import Trace, note, traced
from .admin import PREFIX as ADMIN_PREFIX
from .admin import AdminApp
from .authz import ApiAdmission, RegistryGate, RepositoryFacts
from .regions import OpenDoor, Region, Regions

if TYPE_CHECKING:
    from ..access import AccessControl

log = logging.getLogger("labkit.lab")
Environ = dict[str, Any]
StartResponse = Callable[..., Any]


@dataclass
class LabSettings:
    home: Path
    host: str = "127.0.0.1"
    port: int = 5400
    region: str = "us-east-1"
    token_ttl: float = 12 * 3600
    account_id: str = LAB_ACCOUNT_ID
    started: float = field(default_factory=time.time)
    tls: bool = False  # every door serves HTTPS (labkit/lab/tls; the process gives the certificate)
    address: str | None = None  # the name clients reach it by, when not `host` (a room's LAN
    # address while it listens on 0.0.0.0): repository URIs and proxyEndpoint say it

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def registry_host(self) -> str:
        host = self.address or ("127.0.0.1" if self.host in ("0.0.0.0", "") else self.host)
        return f"{host}:{self.port}"


class CallerTokens:
    """GetAuthorizationToken's token source: the token carries the API caller and the region
    the request was signed for (control/caller.py); the lab's own calls get the default
    learner's, in the lab's region."""

    def __init__(self, access: AccessControl, region: str,
                 lifetimes: dict[str, float] | None = None):
        self.access, self.region = access, region
        self.lifetimes = lifetimes if lifetimes is not None else {}  # an account's own TTL

    def issue(self, ttl: float) -> Token:
        caller = current_caller()
        if caller is None:
            return self.access.issue_token(self.access.store.default_principal, self.region, ttl)
        ttl = self.lifetimes.get(caller.principal.account, ttl)
        return self.access.issue_token(caller.principal, caller.region, ttl)


class LabApp:
    """Dispatches by path; owns the regions' registries and ECR APIs (regions.py), the access
    engine, the trace and the settings."""

    def __init__(self, settings: LabSettings, open_door: OpenDoor | None = None):
        """`open_door(port)` binds another front door for this app and returns its port (the
        lab's process passes it: each region beyond the home region has a port of its own);
        without it every region answers on the lab's one port."""
        from ..access import AccessControl
        from ..access.iamsts import is_iam_sts
        from ..access.tokens import Verdict as TokenVerdict
        from ..control.services import OtherServices
        from ..housekeeping.account_clocks import AccountClocks
        from ..housekeeping.clock import TOKEN_FILE

        self.settings = settings
        home = settings.home
        home.mkdir(parents=True, exist_ok=True)
        secret = load_secret(home)
        self.signer = Signer(secret)
        self.lab_id = self.signer.sign("lab-id")[:16]
        self.admin = AdminApp(self, secret)
        # Each account's clocks (housekeeping/account_clocks.py): the lab's, plus the
        # account's own offset, which a learner in a room moves for their account only.
        self.clocks = AccountClocks(home, settings.account_id)
        self.token_clocks = AccountClocks(home, settings.account_id, TOKEN_FILE)
        self.clock = self.clocks.lab
        # A token lifetime an account set for its own tokens (a learner in a room: 02's
        # exercise); the others' is the lab's (settings.token_ttl).
        self.token_lifetimes: dict[str, float] = {}
        # Who may do what: signatures, identities, policies, registry tokens. Signatures are
        # judged by the wall clock (the caller signs with its own), registry passwords by the
        # token clock (`labkit lab clock advance --tokens`, or a test, moves it); neither is the
        # lab clock 05b advances: a login must not expire because image ages jumped.
        access_key, secret_key = labkeys.load(home)  # a room's are its own (auth/labkeys.py)
        self.access = AccessControl(home, self.signer, self.lab_id, account=settings.account_id,
                                    region=settings.region, clock=time.time,
                                    token_clock=self.token_clocks.now,
                                    access_key=access_key, secret_key=secret_key)
        self.trace = Trace()
        self.operations: Counter[str] = Counter()  # AWS API operations answered (X-Amz-Target)
        self.regions = Regions(self, self._region, open_door)
        home_region = self.regions.home
        # The home region's parts, by their old names (the admin endpoints, tests, benches).
        self.control = home_region.control
        self.storage = home_region.storage
        self.housekeeping = home_region.housekeeping
        self.gate = home_region.gate
        self.registry = home_region.registry
        self.api = home_region.api
        self.traced_api = traced(self._api_call, self.trace, self._kind, self._auth_kind)
        self.others = OtherServices(
            lambda: self.access.iam_sts, is_iam_sts, self._challenge,
            lambda h: self.access.tokens.check_header(h, settings.region)[0] is TokenVerdict.OK)
        self._lock = threading.Lock()

    def _region(self, account: str, name: str, files: Any, host: Callable[[], str]) -> Region:
        """One account's region's registry (regions.py): one store that its ECR backend and its
        `/v2/` registry both read and write, its housekeeping, and the access gate in front."""
        from ..control.backend import EcrBackend
        from ..control.responses import EcrApi
        from ..housekeeping.service import Housekeeping
        from ..registry.handlers import RegistryApp

        settings = self.settings
        clock = self.clocks.of(account)  # image ages and lifecycle rules: the account's clock
        control = EcrBackend.open(
            files, account, name, host, self.signer,
            CallerTokens(self.access, name, self.token_lifetimes), self.access,
            clock=clock.now, token_ttl=lambda: self.settings.token_ttl,
            scheme=settings.scheme)
        control.storage.cleanup_uploads(older_than_seconds=0)
        # The lifecycle schedule and garbage collection.
        housekeeping = Housekeeping(clock, control.storage, control.lifecycle)
        facts = RepositoryFacts(control.storage)
        gates: list[RegistryGate] = []
        registry = RegistryApp(control.storage, control, self.signer,
                               public_url=lambda environ: f"{settings.scheme}://{self._host(environ)}",
                               clock=clock.now,
                               visible=lambda environ, repo: gates[0].visible(environ, repo))
        home = (account, name) == (settings.account_id, settings.region)
        gate = RegistryGate(self.access, facts, registry, account=account,
                            region=name, challenge=lambda: self._challenge(host()),
                            note_request=registry.note_request,
                            where=dict if home else lambda: {
                                rec.REGISTRY_REGION: name, rec.REGISTRY_HOST: host()})
        gates.append(gate)
        api = EcrApi(control, ApiAdmission(self.access, facts, account))
        return Region(account, name, control, housekeeping,
                      traced(gate, self.trace, self._kind, self._auth_kind), api, gate)

    def _host(self, environ: Environ) -> str:
        return environ.get("HTTP_HOST") or self.settings.registry_host

    @staticmethod
    def _kind(environ: Environ) -> str:
        path = environ.get("PATH_INFO", "")
        return rec.STORAGE if path.startswith("/_storage/") else (
            rec.REGISTRY if path == "/v2" or path.startswith("/v2/") else rec.API)

    @staticmethod
    def _auth_kind(environ: Environ) -> str:
        if environ.get("PATH_INFO", "").startswith("/_storage/"):
            return rec.PRESIGNED
        scheme = (environ.get("HTTP_AUTHORIZATION") or "").split(" ", 1)[0].lower()
        return {"": rec.NO_AUTH, "basic": rec.BASIC, "aws4-hmac-sha256": rec.SIGV4}.get(
            scheme, rec.OTHER_AUTH)

    def _api_call(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        operation = environ.get("HTTP_X_AMZ_TARGET", "").rsplit(".", 1)[-1]  # CreateRepository
        note(environ, route=operation, action=operation)
        with self._lock:
            self.operations[operation] += 1
        return self.regions.for_api(environ).api(environ, start_response)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(ADMIN_PREFIX):
            return self.admin(environ, start_response)

        if path == "/v2" or path.startswith(("/v2/", "/_storage/")):
            region = self.regions.for_registry(environ)
            return region.registry(environ, self._observed(region, environ, start_response))
        if is_ecr_request(environ):
            return self.traced_api(environ, self._observed(None, environ, start_response))
        return self.others(environ, start_response)

    def _observed(self, region: Region | None, environ: Environ, start_response: StartResponse
                  ) -> StartResponse:
        """`start_response` that tells the region's housekeeping about the answer (a
        successful delete schedules garbage collection); for an API call, the region it was
        signed for."""
        def observed(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            where = region or self.regions.chosen(environ)
            where.housekeeping.observe(environ, status)
            return start_response(status, headers, exc_info)

        return observed

    def _challenge(self, host: str | None = None) -> str:
        """ECR's challenge: Basic, the realm is the registry's root URL (which answers JSON)."""
        realm = f"{self.settings.scheme}://{host or self.settings.registry_host}/"
        return f'Basic realm="{realm}",service="{SERVICE}"'

    def status(self) -> dict[str, Any]:
        s = self.settings
        return {"labkit": __version__, "home": str(s.home), "pid": os.getpid(), "host": s.host,
                "port": s.port, "registry": s.registry_host, "region": s.region,
                "account_id": s.account_id, "token_ttl": s.token_ttl, "started": s.started,
                "lab_id": self.lab_id, "tls": s.tls, "regions": self.regions.hosts(),
                "accounts": self.regions.accounts()}

    def operations_answered(self) -> dict[str, int]:
        """AWS API operations (CreateRepository, ...) the lab answered, with their counts."""
        with self._lock:
            return dict(self.operations)
