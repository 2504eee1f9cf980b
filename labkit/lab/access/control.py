"""`AccessControl`: the one object the lab asks "who is this, and may they?".

Per request the lab calls, on the ECR API:

    caller = access.authenticate(environ, body)                 # SigV4 -> Verified, or AccessError
    access.authorize_api(caller.principal, operation, params, region=..., source_ip=...,
                         repository_policy=policy_text_of, resource_tags=tags_of)

on `/v2/`:

    claims = access.registry_caller(environ["HTTP_AUTHORIZATION"], region=..., route=route)
    access.authorize_registry(claims.principal, route, method, name, account=registry_account,
                              region=..., repository_policy=..., resource_tags=...)

and hands IAM and STS requests to `access.iam_sts` (a WSGI app). Refusals are exceptions
carrying ECR's code, message and HTTP status (`AccessError` for the API, `RegistryRefusal`
for `/v2/`).

Decisions are cached per (principal, action, resource, identity generation, repository policy,
the values of the context keys those policies read): a blob HEAD by the default administrator
costs two dict look-ups once warm.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from ...config import DEFAULT_REGION, LAB_ACCESS_KEY, LAB_ACCOUNT_ID, LAB_SECRET_KEY
from ..auth.signing import Signer
from ..auth.tokens import Token
from . import actions as A
from . import messages as M
from . import policies as P
from . import sigv4
from .evaluate import Decision, evaluate
from .identities import IdentityStore, NewAccount
from .principals import Principal
from .tokens import Claims, RegistryTokens, Verdict

CACHE_LIMIT = 8192
Tags = Mapping[str, str]
PolicyText = str | None


class AccessError(Exception):
    """A refused API request: ECR's exception name (`code`), its message, the HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def json_body(self) -> dict[str, str]:
        """What ECR's JSON 1.1 protocol sends (`__type` is what botocore maps to the code)."""
        return {"__type": self.code, "message": self.message}


class RegistryRefusal(Exception):
    """A refused `/v2/` request: status, OCI error code, message, and whether to challenge."""

    def __init__(self, status: int, code: str, message: str, challenge: bool = False):
        super().__init__(message)
        self.status, self.code, self.message, self.challenge = status, code, message, challenge

    def body(self) -> dict[str, Any]:
        return {"errors": [{"code": self.code, "message": self.message}]}


@dataclass(frozen=True)
class Verified:
    """A signed request's caller and the scope it signed for (its region is the endpoint's)."""

    principal: Principal
    access_key_id: str
    region: str
    service: str


class RequestContext(Mapping[str, Sequence[str]]):
    """The request context policies' conditions read (keys lower-case), computed on demand."""

    def __init__(self, principal: Principal, *, region: str | None = None,
                 source_ip: str | None = None, now: float | None = None,
                 resource_tags: Callable[[], Tags] | Tags | None = None,
                 request_tags: Tags | None = None, secure: bool = False):
        self.principal, self.region, self.source_ip = principal, region, source_ip
        self.now = time.time() if now is None else now
        self._resource_tags, self.request_tags = resource_tags, request_tags
        self.secure = secure
        self._memo: dict[str, tuple[str, ...]] = {}

    def __getitem__(self, key: str) -> Sequence[str]:
        if key not in self._memo:
            self._memo[key] = self._compute(key.lower())
        value = self._memo[key]
        if not value:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __iter__(self) -> Iterator[str]:
        return iter(k for k in self._memo if self._memo[k])

    def __len__(self) -> int:
        return sum(1 for v in self._memo.values() if v)

    def _compute(self, key: str) -> tuple[str, ...]:
        p = self.principal
        simple = {
            "aws:principalarn": p.principal_arn, "aws:principalaccount": p.account,
            "aws:principaltype": p.principal_type, "aws:userid": p.user_id,
            "aws:username": p.name if p.kind == "user" else None,
            "aws:sourceip": self.source_ip, "aws:requestedregion": self.region,
            "aws:securetransport": "true" if self.secure else "false",
            "aws:epochtime": str(int(self.now)),
            "aws:currenttime": datetime.fromtimestamp(self.now, UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"),
        }
        if key in simple:
            value = simple[key]
            return (value,) if value else ()
        for prefix in ("aws:resourcetag/", "ecr:resourcetag/"):
            if key.startswith(prefix):
                return _tag(self.resource_tags(), key[len(prefix):])
        if key.startswith("aws:requesttag/"):
            return _tag(self.request_tags or {}, key[len("aws:requesttag/"):])
        if key == "aws:tagkeys":
            return tuple(self.request_tags or ())
        return ()  # aws:PrincipalOrgID and the rest: the lab has no organizations

    def resource_tags(self) -> Tags:
        if callable(self._resource_tags):
            self._resource_tags = self._resource_tags()
        return self._resource_tags or {}


def _tag(tags: Tags, name: str) -> tuple[str, ...]:
    for k, v in tags.items():
        if k.lower() == name:
            return (v,)
    return ()


@lru_cache(maxsize=512)
def _stored_policy(text: str) -> P.Policy | None:
    """A repository policy as stored: parsed once per text. Policies stored before the lab
    validated them may not parse; they then grant and deny nothing."""
    try:
        return P.parse(text, P.Kind.REPOSITORY)
    except P.PolicyError:
        return None


@lru_cache(maxsize=4096)
def _registry_targets(route: str, method: str, name: str | None, account: str, region: str,
                      has_body: bool, mount_from: str | None) -> tuple[A.Target, ...]:
    return tuple(A.registry_targets(route, method, name, account=account, region=region,
                                    has_body=has_body, mount_from=mount_from))


class AccessControl:
    def __init__(self, home: Path, signer: Signer, lab_id: str, *,
                 account: str = LAB_ACCOUNT_ID, region: str = DEFAULT_REGION,
                 valid_region: Callable[[str], bool] | None = None,
                 access_key: str = LAB_ACCESS_KEY, secret_key: str = LAB_SECRET_KEY,
                 clock: Callable[[], float] = time.time, store: IdentityStore | None = None,
                 token_clock: Callable[[str], float] | None = None):
        """`clock` judges signatures (signed by the caller's wall clock), sessions and policy
        times; `token_clock(account)` issues and judges an account's registry passwords
        (default: `clock`)."""
        self.account, self.region = account, region
        self.valid_region = valid_region
        self.clock = clock
        self.store = store or IdentityStore(home, account, access_key=access_key,
                                            secret_key=secret_key, clock=clock)
        self.tokens = RegistryTokens(signer, lab_id, default=self.store.default_principal,
                                     default_region=region,
                                     clock=token_clock or (lambda _account: clock()))
        self._decisions: dict[tuple[Any, ...], Decision] = {}
        self._allowed: set[tuple[Any, ...]] = set()  # registry requests allowed context-free
        self._iam_sts: Any = None

    # --- who --------------------------------------------------------------------------------
    def authenticate(self, environ: Mapping[str, Any], body: bytes | None, *,
                     service: str = "ecr") -> Verified:
        """The verified signer of an AWS API request; AccessError with ECR's (JSON) or
        IAM/STS's (query) code and message otherwise."""
        return self.authenticate_request(sigv4.Request.from_environ(environ, body), service)

    def authenticate_request(self, request: sigv4.Request, service: str) -> Verified:
        protocol = "json" if service == "ecr" else "query"
        try:
            signed = sigv4.verify(request, self.store.signing_key, service=service,
                                  now=self.clock(), valid_region=self.valid_region)
        except sigv4.SigV4Error as e:
            raise AccessError(e.code(protocol), e.message, e.status(protocol)) from None
        caller = self.store.caller(signed.access_key_id)
        if caller is None:  # deleted between the two look-ups
            m = M.UNRECOGNIZED_CLIENT
            raise AccessError((m.json_code if protocol == "json" else m.query_code) or "",
                              m.template, m.json_status if protocol == "json" else
                              m.query_status)
        return Verified(caller.principal, signed.access_key_id, signed.region, signed.service)

    @staticmethod
    def signed_scope(environ: Mapping[str, Any]) -> tuple[str, str, str] | None:
        """(access key id, region, service) a request claims in its SigV4 credential
        (unverified: for routing only)."""
        return sigv4.scope_of(sigv4.Request.from_environ(environ, None))

    # --- may they -----------------------------------------------------------------------------
    def decide(self, principal: Principal, target: A.Target, *,
               repository_policy: PolicyText = None,
               context: RequestContext | Callable[[], RequestContext] | None = None
               ) -> Decision:
        """The decision for one authorization question, cached (see the module doc).
        `context` may be a factory: it is built only when a policy reads it or on a miss."""
        identity, session = self.store.policies(principal)
        resource_policy = _stored_policy(repository_policy) if repository_policy else None
        keys = _keys(identity, session, resource_policy)
        ctx: RequestContext | None = None
        fingerprint: tuple[Any, ...] = ()
        if keys:
            ctx = self._context(principal, context)
            fingerprint = tuple(tuple(ctx.get(k, ())) for k in keys)
        cache_key = (principal.arn, principal.user_id, target.action, target.resource,
                     target.account, self.store.generation, repository_policy, fingerprint)
        found = self._decisions.get(cache_key)
        if found is None:
            ctx = ctx if ctx is not None else self._context(principal, context)
            found = evaluate(principal, target.action, target.resource, ctx, identity=identity,
                             resource_policy=resource_policy, resource_account=target.account,
                             session_policy=session)
            if len(self._decisions) >= CACHE_LIMIT:
                self._decisions.clear()
            self._decisions[cache_key] = found
        return found

    def _context(self, principal: Principal,
                 context: RequestContext | Callable[[], RequestContext] | None
                 ) -> RequestContext:
        if context is None:
            return RequestContext(principal, now=self.clock())
        return context if isinstance(context, RequestContext) else context()

    def authorize(self, principal: Principal, target: A.Target, *,
                  repository_policy: PolicyText = None, context: RequestContext | None = None,
                  protocol: str = "json") -> None:
        """AccessError (AccessDeniedException, ECR's sentence) unless allowed."""
        decision = self.decide(principal, target, repository_policy=repository_policy,
                               context=context)
        if not decision.allowed:
            m = decision.message
            raise AccessError((m.json_code if protocol == "json" else m.query_code) or "",
                              decision.explain(principal.arn, target.action, target.resource),
                              m.json_status if protocol == "json" else m.query_status)

    def authorize_api(self, principal: Principal, operation: str, params: Mapping[str, Any], *,
                      region: str, source_ip: str | None = None, secure: bool = False,
                      repository_policy: Callable[[str, str], PolicyText] = lambda a, n: None,
                      resource_tags: Callable[[str, str], Tags] = lambda a, n: {}) -> None:
        """Authorize one ECR API call (every repository it names). `repository_policy(account,
        name)` and `resource_tags(account, name)` read the store (None/{} if no such repo);
        `secure`: it came over HTTPS (aws:SecureTransport)."""
        request_tags = _request_tags(params)
        for target in A.api_targets(operation, params, caller_account=principal.account,
                                    region=region):
            acct, name = target.account, target.repository
            ctx = RequestContext(
                principal, region=region, source_ip=source_ip, now=self.clock(),
                resource_tags=(lambda a=acct, n=name: resource_tags(a, n) if n else {}),
                request_tags=request_tags, secure=secure)
            text = repository_policy(acct, name) if name else None
            self.authorize(principal, target, repository_policy=text, context=ctx)

    # --- the registry -------------------------------------------------------------------------
    def registry_caller(self, header: str | None, *, region: str, route: str = "") -> Claims:
        """Who a `/v2/` request acts as (from its GetAuthorizationToken password), or a
        RegistryRefusal as ECR answers: no credentials or unreadable ones 401 with the Basic
        challenge, expired 403 DENIED, another region's token 400 at login (route "base") and
        403 DENIED elsewhere."""
        verdict, claims = self.tokens.check_header(header, region)
        if verdict is Verdict.OK and claims is not None:
            return claims
        if verdict is Verdict.EXPIRED:
            raise RegistryRefusal(403, "DENIED", M.TOKEN_EXPIRED.template)
        if verdict is Verdict.WRONG_REGION:
            if route == "base":  # docker login: 400 Bad Request (aws-cli#5317)
                raise RegistryRefusal(400, "DENIED", M.TOKEN_INVALID.template)
            raise RegistryRefusal(403, "DENIED", M.TOKEN_EXPIRED.template)
        # an unreadable password, or another lab's: 401 with the challenge, at login too (what
        # docker prints for a wrong password; private ECR's body for it is not on record)
        raise RegistryRefusal(401, "UNAUTHORIZED", M.NOT_AUTHORIZED.template, challenge=True)

    def authorize_registry(self, principal: Principal, route: str, method: str,
                           name: str | None, *, account: str, region: str,
                           repository_policy: PolicyText = None,
                           resource_tags: Callable[[], Tags] | Tags | None = None,
                           source_ip: str | None = None, has_body: bool = False,
                           mount_from: str | None = None,
                           mount_policy: PolicyText = None, secure: bool = False) -> None:
        """RegistryRefusal 403 DENIED (`denied: User: ...` in docker) unless every action the
        request is (actions.REGISTRY_ACTIONS) is allowed on the registry `account`'s repo.
        `secure`: it came over HTTPS (aws:SecureTransport)."""
        fast = (principal.arn, principal.user_id, route, method, name, account, region,
                has_body, mount_from, repository_policy, mount_policy, self.store.generation)
        if fast in self._allowed:  # allowed before, and no policy involved reads the context
            return
        targets = _registry_targets(route, method.upper(), name, account, region, has_body,
                                    mount_from)
        memo: list[RequestContext] = []

        def context() -> RequestContext:  # one per request, built only if a policy reads it
            if not memo:
                memo.append(RequestContext(principal, region=region, source_ip=source_ip,
                                           now=self.clock(), resource_tags=resource_tags,
                                           secure=secure))
            return memo[0]

        reads_context = False
        for target in targets:
            text = mount_policy if mount_from and target.repository == mount_from \
                and target.repository != name else repository_policy
            decision = self.decide(principal, target, repository_policy=text, context=context)
            if not decision.allowed:
                raise RegistryRefusal(403, "DENIED", decision.explain(
                    principal.arn, target.action, target.resource))
            reads_context = reads_context or self._reads_context(principal, text)
        if not reads_context:
            if len(self._allowed) >= CACHE_LIMIT:
                self._allowed.clear()
            self._allowed.add(fast)

    def _reads_context(self, principal: Principal, repository_policy: PolicyText) -> bool:
        identity, session = self.store.policies(principal)
        resource = _stored_policy(repository_policy) if repository_policy else None
        return bool(_keys(identity, session, resource))

    def may_list(self, principal: Principal, repository: str, *, account: str, region: str,
                 repository_policy: PolicyText = None) -> bool:
        """Whether the catalog shows `repository` to `principal` (DescribeRepositories)."""
        target = A.catalog_entry_target(repository, account=account, region=region)
        return self.decide(principal, target, repository_policy=repository_policy).allowed

    # --- tokens, accounts, policies -------------------------------------------------------------
    def issue_token(self, principal: Principal, region: str, ttl: float) -> Token:
        """GetAuthorizationToken (after `authorize_api` allowed it) for `principal`."""
        return self.tokens.issue(principal, region, ttl)

    def create_account(self, name: str, managed_policies: bool = True) -> NewAccount:
        return self.store.create_account(name, managed_policies)

    def repository_policy(self, text: Any) -> P.Policy:
        """SetRepositoryPolicy's check: AccessError(InvalidParameterException, ECR's words)."""
        return self._validated(text, P.Kind.REPOSITORY)

    def registry_policy(self, text: Any) -> P.Policy:
        return self._validated(text, P.Kind.REGISTRY)

    def _validated(self, text: Any, kind: P.Kind) -> P.Policy:
        try:
            return P.parse(text, kind, self.store.principal_exists)
        except P.PolicyError as e:
            raise AccessError(e.code, e.message) from None

    @property
    def iam_sts(self) -> Any:
        """The WSGI app for IAM and STS query-protocol requests."""
        if self._iam_sts is None:
            from .iamsts import IamStsApp

            self._iam_sts = IamStsApp(self)
        return self._iam_sts


def _keys(identity: Sequence[P.Policy], session: P.Policy | None,
          resource: P.Policy | None) -> tuple[str, ...]:
    keys: set[str] = set()
    for policy in (*identity, session, resource):
        if policy is not None and policy.condition_keys:
            keys |= policy.condition_keys
    return tuple(sorted(keys))


def _request_tags(params: Mapping[str, Any]) -> dict[str, str] | None:
    """aws:RequestTag / aws:TagKeys of CreateRepository and TagResource (`tags: [{Key,Value}]`)."""
    tags = params.get("tags")
    if not isinstance(tags, list):
        return None
    return {t["Key"]: str(t.get("Value", "")) for t in tags
            if isinstance(t, dict) and isinstance(t.get("Key"), str)}
