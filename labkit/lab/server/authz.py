"""Who may do what, at the lab's front door: every `/v2/` request and every ECR API call goes
through the access engine (labkit.lab.access) before the registry or the backend sees it.

- `/v2/`: the GetAuthorizationToken password names who logged in (and in which region); the
  request is the ECR action(s) its route is (access/actions.py REGISTRY_ACTIONS), allowed by the
  caller's identity policies and the repository's policy, or refused as ECR refuses it
  (`denied: User: ... is not authorized to perform: ecr:InitiateLayerUpload on resource: ...`).
- The ECR API: SigV4 against the identities' secrets (ECR's UnrecognizedClientException,
  InvalidSignatureException, MissingAuthenticationTokenException), then the operation's
  action on each repository it names (AccessDeniedException).

The lab's own endpoints (`/_labkit/`, signed by the home's secret) and the pre-signed
`/_storage/` URLs are outside IAM, as S3's pre-signed URLs are.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from ...oci import routes
from ...trace import record as rec
from ..access import AccessControl, AccessError, Principal, RegistryRefusal
from ..access.tokens import Verdict
from ..control.caller import ApiCaller
from ..registry.names import is_name
from ..registry.storage import Storage
from ..registry.streams import has_body
from ..trace import note, refuse

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]
PRINCIPAL = "labkit.principal"  # environ key: the registry caller the gate admitted
NOT_AUTHORIZED_BODY = b"Not Authorized\n"  # ECR's 401 body, text/plain (access/messages.py)


def drain(environ: Environ, limit: int = 1 << 20) -> None:
    """Read a small refused body so the connection stays usable; large ones are not read."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if 0 < length <= limit:
        environ["wsgi.input"].read(length)


def _header_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class RepositoryFacts:
    """A repository's policy text and tags, as authorization reads them (from memory)."""

    def __init__(self, storage: Storage):
        self.storage = storage

    def record(self, name: str | None) -> dict | None:
        """None for a name that is not a repository's (the registry then says why)."""
        return self.storage.repository_settings(name) if name and is_name(name) else None

    def policy(self, name: str | None) -> str | None:
        record = self.record(name)
        return record.get("policy") if record else None

    def tags(self, name: str | None) -> dict[str, str]:
        record = self.record(name)
        return {t["Key"]: str(t.get("Value", "")) for t in (record or {}).get("tags") or []
                if isinstance(t, dict) and isinstance(t.get("Key"), str)}


class RegistryGate:
    """ECR's front door for `/v2/`: who (the token's claims), then may they (the route's
    actions on the repository). `/_storage/` URLs carry their own signature (the registry
    checks it)."""

    def __init__(self, access: AccessControl, facts: RepositoryFacts, app: WSGIApp, *,
                 account: str, region: str, challenge: Callable[[], str],
                 note_request: Callable[[Environ], None],
                 where: Callable[[], dict[str, str]] = dict):
        """`where()`: facts every refusal of this gate carries about its registry (another
        region's registry names its region and address, so an explanation's fix logs in to it)."""
        self.access, self.facts, self.app = access, facts, app
        self.account, self.region = account, region
        self.challenge = challenge
        self.note_request = note_request
        self.where = where

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_storage/"):
            return self.app(environ, start_response)
        match = routes.match(path)
        route = match.route if match else ""
        header = environ.get("HTTP_AUTHORIZATION")
        try:
            claims = self.access.registry_caller(header, region=self.region, route=route)
            environ[PRINCIPAL] = claims.principal
            note(environ, principal=claims.principal.arn)
            if match is not None and match.name:
                self.authorize(environ, claims.principal, match)
        except RegistryRefusal as refusal:
            return self.refuse(environ, start_response, refusal, header)
        return self.app(environ, start_response)

    def authorize(self, environ: Environ, principal: Principal, match: routes.Match) -> None:
        method = environ.get("REQUEST_METHOD", "GET")
        name = match.name
        mount_from = None
        if match.route == "upload" and method == "POST":
            query = environ.get("QUERY_STRING", "")
            if "mount=" in query and "from=" in query:
                from urllib.parse import parse_qs

                args = parse_qs(query)
                mount_from = (args.get("from") or [None])[0]
        facts = self.facts
        self.access.authorize_registry(
            principal, match.route, method, name, account=self.account, region=self.region,
            repository_policy=facts.policy(name),
            resource_tags=lambda: facts.tags(name), source_ip=environ.get("REMOTE_ADDR"),
            has_body=match.route == "upload" and method == "PUT" and has_body(environ),
            mount_from=mount_from,
            mount_policy=facts.policy(mount_from) if mount_from else None,
            secure=environ.get("wsgi.url_scheme") == "https")

    def visible(self, environ: Environ, name: str) -> bool:
        """Whether the catalog lists `name` to the request's caller."""
        principal = environ.get(PRINCIPAL)
        if principal is None:
            return False
        return self.access.may_list(principal, name, account=self.account, region=self.region,
                                    repository_policy=self.facts.policy(name))

    def refuse(self, environ: Environ, start_response: StartResponse,
               refusal: RegistryRefusal, header: str | None) -> Iterable[bytes]:
        self.note_request(environ)  # a refused request is still what it asked for
        drain(environ)
        facts: dict[str, Any] = dict(self.where())
        verdict, claims = self.access.tokens.check_header(header, self.region)
        if refusal.status != 403 or refusal.code != "DENIED" or verdict is not Verdict.OK:
            facts[rec.AUTHORIZATION] = verdict.value  # missing, invalid, expired, wrong-region
        if claims is not None and verdict is not Verdict.OK and environ.get(PRINCIPAL) is None:
            note(environ, principal=claims.principal.arn)  # who the refused token names
        if claims is not None and verdict is Verdict.WRONG_REGION:
            facts[rec.TOKEN_REGION] = claims.region
        if claims is not None and verdict is Verdict.EXPIRED:
            facts[rec.TOKEN_EXPIRES] = claims.expires_at
            facts[rec.TOKEN_CHECKED] = int(self.access.tokens.now(claims.principal.account))
            if claims.issued_at is not None:
                facts[rec.TOKEN_ISSUED] = claims.issued_at
                facts[rec.TOKEN_LIFETIME] = claims.expires_at - claims.issued_at
        refuse(environ, refusal.code, refusal.message, **facts)
        headers = [("Docker-Distribution-API-Version", "registry/2.0")]
        if refusal.challenge:  # ECR's 401: the Basic challenge and a text/plain body
            start_response("401 Unauthorized", [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(NOT_AUTHORIZED_BODY))),
                ("WWW-Authenticate", self.challenge()), *headers])
            return [NOT_AUTHORIZED_BODY]
        out = json.dumps(refusal.body()).encode()
        reason = {400: "Bad Request", 403: "Forbidden"}.get(refusal.status, "Error")
        start_response(f"{refusal.status} {reason}", [
            ("Content-Type", "application/json"), ("Content-Length", str(len(out))), *headers])
        return [out]


class ApiAdmission:
    """The ECR API's front door: the SigV4 signer (who), then the operation on each
    repository it names (may they). Raises AccessError with ECR's code and message."""

    def __init__(self, access: AccessControl, facts: RepositoryFacts, account: str):
        self.access, self.facts, self.account = access, facts, account

    def authenticate(self, environ: Environ, body: bytes) -> ApiCaller:
        verified = self.access.authenticate(environ, body)
        note(environ, principal=verified.principal.arn)
        return ApiCaller(verified.principal, verified.region)

    def authorize(self, environ: Environ, caller: ApiCaller, operation: str,
                  params: dict[str, Any]) -> None:
        facts = self.facts
        self.access.authorize_api(
            caller.principal, operation, params, region=caller.region,
            source_ip=environ.get("REMOTE_ADDR"),
            secure=environ.get("wsgi.url_scheme") == "https",
            repository_policy=lambda account, name: facts.policy(name)
            if account == self.account else None,
            resource_tags=lambda account, name: facts.tags(name)
            if account == self.account else {})


__all__ = ["AccessError", "ApiAdmission", "RegistryGate", "RepositoryFacts"]
