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
from ..auth.signing import Signer, load_secret
from ..auth.tokens import SERVICE, Token
from ..control.caller import current as current_caller
from ..control.responses import is_ecr_request
from ..trace import Trace, note, traced
from .admin import PREFIX as ADMIN_PREFIX
from .admin import AdminApp
from .authz import ApiAdmission, RegistryGate, RepositoryFacts

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

    @property
    def registry_host(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"{host}:{self.port}"


class CallerTokens:
    """GetAuthorizationToken's token source: the token carries the API caller and the region
    the request was signed for (control/caller.py); the lab's own calls get the default
    learner's, in the lab's region."""

    def __init__(self, access: AccessControl, region: str):
        self.access, self.region = access, region

    def issue(self, ttl: float) -> Token:
        caller = current_caller()
        if caller is None:
            return self.access.issue_token(self.access.store.default_principal, self.region, ttl)
        return self.access.issue_token(caller.principal, caller.region, ttl)


class LabApp:
    """Dispatches by path; owns the registry, the ECR API wrapper, the trace and the settings."""

    def __init__(self, settings: LabSettings):
        from ..access import AccessControl
        from ..access.iamsts import is_iam_sts
        from ..access.tokens import Verdict as TokenVerdict
        from ..control.backend import EcrBackend
        from ..control.ecr_registry import RegistryFiles
        from ..control.responses import EcrApi
        from ..control.services import OtherServices
        from ..housekeeping.clock import TOKEN_FILE, LabClock
        from ..housekeeping.service import Housekeeping
        from ..registry.handlers import RegistryApp

        self.settings = settings
        home = settings.home
        home.mkdir(parents=True, exist_ok=True)
        secret = load_secret(home)
        self.signer = Signer(secret)
        self.lab_id = self.signer.sign("lab-id")[:16]
        self.admin = AdminApp(self, secret)
        self.clock = LabClock(home)
        # Who may do what: signatures, identities, policies, registry tokens. Signatures are
        # judged by the wall clock (the caller signs with its own), registry passwords by the
        # token clock (`labkit lab clock advance --tokens`, or a test, moves it); neither is the
        # lab clock 05b advances: a login must not expire because image ages jumped.
        self.access = AccessControl(home, self.signer, self.lab_id, account=settings.account_id,
                                    region=settings.region, clock=time.time,
                                    token_clock=LabClock(home, file=TOKEN_FILE).now)
        # One store: the ECR API's backend and the registry read and write the same records.
        self.control = EcrBackend.open(
            RegistryFiles.in_home(home), settings.account_id, settings.region,
            lambda: self.settings.registry_host, self.signer,
            CallerTokens(self.access, settings.region), self.access,
            clock=self.clock.now, token_ttl=lambda: self.settings.token_ttl)
        self.storage = self.control.storage
        self.storage.cleanup_uploads(older_than_seconds=0)
        # The lifecycle schedule and garbage collection.
        self.housekeeping = Housekeeping(self.clock, self.storage, self.control.lifecycle)
        self.trace = Trace()
        self.operations: Counter[str] = Counter()  # AWS API operations answered (X-Amz-Target)
        facts = RepositoryFacts(self.storage)
        registry = RegistryApp(self.storage, self.control, self.signer,
                               public_url=lambda environ: f"http://{self._host(environ)}",
                               clock=self.clock.now,
                               visible=lambda environ, name: self.gate.visible(environ, name))
        self.gate = RegistryGate(self.access, facts, registry, account=settings.account_id,
                                 region=settings.region, challenge=self._challenge,
                                 note_request=registry.note_request)
        self.registry = traced(self.gate, self.trace, self._kind, self._auth_kind)
        self.api = EcrApi(self.control, ApiAdmission(self.access, facts, settings.account_id))
        self.traced_api = traced(self._api_call, self.trace, self._kind, self._auth_kind)
        self.others = OtherServices(
            lambda: self.access.iam_sts, is_iam_sts, self._challenge,
            lambda h: self.access.tokens.check_header(h, settings.region)[0] is TokenVerdict.OK)
        self._lock = threading.Lock()

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
        return self.api(environ, start_response)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(ADMIN_PREFIX):
            return self.admin(environ, start_response)

        def observed(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            self.housekeeping.observe(environ, status)  # a successful delete schedules GC
            return start_response(status, headers, exc_info)

        if path == "/v2" or path.startswith(("/v2/", "/_storage/")):
            return self.registry(environ, observed)
        if is_ecr_request(environ):
            return self.traced_api(environ, observed)
        return self.others(environ, start_response)

    def _challenge(self) -> str:
        """ECR's challenge: Basic, the realm is the registry's root URL (which answers JSON)."""
        return f'Basic realm="http://{self.settings.registry_host}/",service="{SERVICE}"'

    def status(self) -> dict[str, Any]:
        s = self.settings
        return {"labkit": __version__, "home": str(s.home), "pid": os.getpid(), "host": s.host,
                "port": s.port, "registry": s.registry_host, "region": s.region,
                "account_id": s.account_id, "token_ttl": s.token_ttl, "started": s.started,
                "lab_id": self.lab_id}

    def operations_answered(self) -> dict[str, int]:
        """AWS API operations (CreateRepository, ...) the lab answered, with their counts."""
        with self._lock:
            return dict(self.operations)
