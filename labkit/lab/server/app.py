"""The lab's one WSGI app: `/v2/` is the registry, `/_storage/` the pre-signed blob store,
`/_labkit/` the lab's own status and trace, ECR API calls the lab's ECR backend, and the rest
(STS GetCallerIdentity, the 401 realm, a clear refusal of any other service) `OtherServices`.

Registry requests are authenticated here, before the registry sees them, the way ECR's front
door does: no credentials or wrong ones get 401 with a Basic challenge, an expired token 403 DENIED.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ... import __version__
from ...config import LAB_ACCOUNT_ID
from ..auth.signing import Signer, load_secret
from ..auth.tokens import EXPIRED_MESSAGE, SERVICE, TokenIssuer, Verdict
from ..control.responses import is_ecr_request
from ..process import whoami
from ..trace import Trace, traced

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


def _drain(environ: Environ, limit: int = 1 << 20) -> None:
    """Read a small refused body so the connection stays usable; large ones are not read."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if 0 < length <= limit:
        environ["wsgi.input"].read(length)


def _json(start_response: StartResponse, status: str, doc: Any,
          headers: list[tuple[str, str]] | None = None) -> Iterable[bytes]:
    out = json.dumps(doc).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(out))), *(headers or [])])
    return [out]


class LabApp:
    """Dispatches by path; owns the registry, the ECR API wrapper, the trace and the settings."""

    def __init__(self, settings: LabSettings):
        from ..control.backend import EcrBackend
        from ..control.responses import EcrApi
        from ..control.services import OtherServices, moto_sts
        from ..registry.handlers import RegistryApp
        from ..registry.storage import Storage

        self.settings = settings
        home = settings.home
        home.mkdir(parents=True, exist_ok=True)
        self.signer = Signer(load_secret(home))
        self.lab_id = self.signer.sign("lab-id")[:16]
        from ..housekeeping.clock import TOKEN_FILE, LabClock

        # tokens keep real time (never the lab clock a learner advances); tests move their own
        self.issuer = TokenIssuer(self.signer, self.lab_id, LabClock(home, file=TOKEN_FILE).now)
        self.whoami = whoami.WhoamiRoutes(self.signer, home)
        self.storage = Storage(home / "registry")
        self.storage.cleanup_uploads(older_than_seconds=0)
        # The lab clock, creation templates, the lifecycle schedule and garbage collection.
        from ..housekeeping.service import Housekeeping

        self.housekeeping = Housekeeping(home, self.storage, settings.account_id,
                                         settings.region)
        # One store: the ECR API's backend and the registry read and write the same records.
        self.control = EcrBackend(self.storage, home, settings.account_id, settings.region,
                                  lambda: self.settings.registry_host, self.signer,
                                  clock=self.housekeeping.clock.now)
        self.trace = Trace()
        self.operations: Counter[str] = Counter()  # AWS API operations answered (X-Amz-Target)
        registry = RegistryApp(self.storage, self.control, self.signer,
                               public_url=lambda environ: f"http://{self._host(environ)}",
                               clock=self.housekeeping.clock.now)
        self.control.create_on_push = self.housekeeping.create_on_push
        self.registry = traced(self._gate(registry), self.trace, self._auth_kind)
        self.api = EcrApi(self.control, self.issuer, token_ttl=lambda: self.settings.token_ttl,
                          proxy_endpoint=lambda: f"http://{self.settings.registry_host}")
        self.api = self.housekeeping.wrap_api(self.api)  # repository creation templates
        self.control.template_api = self.api
        self.others = OtherServices(moto_sts, self._challenge,
                                    lambda h: self.issuer.check_header(h) is Verdict.OK)
        self._lock = threading.Lock()

    def _host(self, environ: Environ) -> str:
        return environ.get("HTTP_HOST") or self.settings.registry_host

    @staticmethod
    def _auth_kind(environ: Environ) -> str:
        if environ.get("PATH_INFO", "").startswith("/_storage/"):
            return "presigned"
        return "basic" if environ.get("HTTP_AUTHORIZATION") else "none"

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_labkit/"):
            return self._admin(environ, start_response)

        def observed(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            self.housekeeping.observe(environ, status)  # a successful delete schedules GC
            return start_response(status, headers, exc_info)

        if path == "/v2" or path.startswith(("/v2/", "/_storage/")):
            return self.registry(environ, observed)
        if is_ecr_request(environ):
            target = environ.get("HTTP_X_AMZ_TARGET", "")  # ...V20150921.CreateRepository
            with self._lock:
                self.operations[target.rsplit(".", 1)[-1]] += 1
            return self.api(environ, observed)
        return self.others(environ, start_response)

    def _challenge(self) -> str:
        """ECR's challenge: Basic, the realm is the registry's root URL (which answers JSON)."""
        return f'Basic realm="http://{self.settings.registry_host}/",service="{SERVICE}"'

    def _gate(self, registry: Callable[[Environ, StartResponse], Iterable[bytes]]
              ) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
        """ECR's front door: /v2/ needs a valid, unexpired `AWS:<password>`; /_storage/ URLs
        carry their own signature and are checked by the registry."""

        def gate(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
            if environ.get("PATH_INFO", "").startswith("/_storage/"):
                return registry(environ, start_response)
            verdict = self.issuer.check_header(environ.get("HTTP_AUTHORIZATION"))
            if verdict is Verdict.OK:
                return registry(environ, start_response)
            _drain(environ)
            if verdict is Verdict.EXPIRED:
                return _json(start_response, "403 Forbidden", {"errors": [
                    {"code": "DENIED", "message": EXPIRED_MESSAGE}]})
            challenge = self._challenge()
            return _json(start_response, "401 Unauthorized",
                         {"errors": [{"code": "UNAUTHORIZED", "message": "Not Authorized"}]},
                         [("WWW-Authenticate", challenge),
                          ("Docker-Distribution-API-Version", "registry/2.0")])

        return gate

    # --- the lab's own endpoints --------------------------------------------------------------
    def _admin(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/_labkit/status":
            return _json(start_response, "200 OK", self.status())
        if path in whoami.PATHS:
            return self.whoami(environ, start_response)
        if path == "/_labkit/trace":
            from urllib.parse import parse_qs

            qs = parse_qs(environ.get("QUERY_STRING", ""))
            since = int((qs.get("since") or ["0"])[0] or 0)
            return _json(start_response, "200 OK",
                         {"last": self.trace.last_seq(), "requests": self.trace.since(since)})
        if path == "/_labkit/operations":  # which AWS API operations the lab answered
            with self._lock:
                return _json(start_response, "200 OK", {"operations": dict(self.operations)})
        if path == "/_labkit/settings" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                doc = json.loads(environ["wsgi.input"].read(length) or b"{}")
                ttl = float(doc["token_ttl"])
                if not 1 <= ttl <= 12 * 3600:
                    raise ValueError("token_ttl must be between 1 and 43200 seconds")
            except (ValueError, KeyError, TypeError) as e:
                return _json(start_response, "400 Bad Request", {"error": str(e)})
            self.settings.token_ttl = ttl
            return _json(start_response, "200 OK", self.status())
        answer = self._housekeeping_admin(environ, path, method)  # issue 11
        if answer is not None:
            return _json(start_response, *answer)
        return _json(start_response, "404 Not Found", {"error": f"no such lab endpoint {path}"})

    def _housekeeping_admin(self, environ: Environ, path: str, method: str
                            ) -> tuple[str, Any] | None:
        from urllib.parse import parse_qs

        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if 0 < length <= 1 << 16 else b""
        return self.housekeeping.admin(path, method, body,
                                       parse_qs(environ.get("QUERY_STRING", "")))

    def status(self) -> dict[str, Any]:
        s = self.settings
        return {"labkit": __version__, "home": str(s.home), "pid": os.getpid(), "host": s.host,
                "port": s.port, "registry": s.registry_host, "region": s.region,
                "account_id": s.account_id, "token_ttl": s.token_ttl, "started": s.started,
                "lab_id": self.lab_id}
