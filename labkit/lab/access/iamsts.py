"""IAM and STS on the wire (AWS query protocol: form-encoded `Action=...`, XML answers).

Each request is verified (SigV4, scope `iam` or `sts`), its caller resolved, the IAM action
authorized against the caller's policies (`iam:CreateUser` on the user's ARN...), and then
answered by moto's own IAM responses in the caller's account (identities.py journals the writes).
STS is the lab's where moto cannot know the caller: GetCallerIdentity names the verified caller
(moto would answer `user/moto` for the lab's default keys), GetAccessKeyInfo the key's account;
AssumeRole is authorized against the role's trust policy and the caller's policies, then made
by moto. Refusals are IAM/STS's XML errors with their codes (`InvalidClientTokenId`,
`SignatureDoesNotMatch`, `AccessDenied` 403, `MalformedPolicyDocument` 400...).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from . import messages as M
from . import policies as P
from . import sigv4
from .actions import Target
from .evaluate import Decision, evaluate, resource_grant
from .identities import IdentityError
from .moto_seam import Answer
from .principals import PARTITION, Principal

if TYPE_CHECKING:
    from .control import AccessControl

NAMESPACES = {"iam": "https://iam.amazonaws.com/doc/2010-05-08/",
              "sts": "https://sts.amazonaws.com/doc/2011-06-15/"}
STS_ACTIONS = frozenset({"GetCallerIdentity", "AssumeRole", "GetAccessKeyInfo",
                         "GetSessionToken", "GetFederationToken", "AssumeRoleWithWebIdentity",
                         "AssumeRoleWithSAML", "DecodeAuthorizationMessage"})
STS_SERVED = ("GetCallerIdentity", "AssumeRole", "GetAccessKeyInfo")
# IAM calls that, without UserName, act on the calling user (IAM API reference)
SELF_ACTIONS = frozenset({"GetUser", "ListAccessKeys", "CreateAccessKey", "UpdateAccessKey",
                          "DeleteAccessKey", "ListSigningCertificates", "ListSSHPublicKeys",
                          "ListMFADevices", "ChangePassword"})
MAX_BODY = 1 << 20


def is_iam_sts(environ: dict[str, Any], body: bytes) -> bool:
    """Whether a request is for IAM or STS: a query-protocol `Action` signed for `iam`/`sts`,
    or (unsigned) naming an STS action."""
    if environ.get("HTTP_X_AMZ_TARGET"):
        return False
    scope = sigv4.scope_of(sigv4.Request.from_environ(environ, None))
    if scope is not None:
        return scope[2] in ("iam", "sts")
    return _params(environ, body).get("Action", "") in STS_ACTIONS


def _params(environ: dict[str, Any], body: bytes) -> dict[str, str]:
    params = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    if body and "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", "form-urlencoded"):
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    params.pop("X-Amz-Signature", None)
    for key in [k for k in params if k.startswith("X-Amz-")]:
        del params[key]
    return params


class IamStsApp:
    def __init__(self, control: AccessControl):
        self.control = control

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if 0 < length <= MAX_BODY else b""
        params = _params(environ, body)
        action = params.get("Action", "")
        request = sigv4.Request.from_environ(environ, body)
        scope = sigv4.scope_of(request)
        service = scope[2] if scope and scope[2] in NAMESPACES else (
            "sts" if action in STS_ACTIONS else "iam")
        from .control import AccessError

        try:
            caller = self.control.authenticate_request(request, service)
            answer = self.dispatch(caller.principal, service, action, params,
                                   source_ip=environ.get("REMOTE_ADDR"))
        except AccessError as e:
            answer = error(service, e.code, e.message, e.status)
        except IdentityError as e:
            answer = error(service, e.code, e.message, e.status)
        start_response(f"{answer.status} {_REASONS.get(answer.status, 'Error')}",
                       [*answer.headers, ("Content-Length", str(len(answer.body)))])
        return [answer.body]

    def dispatch(self, caller: Principal, service: str, action: str, params: dict[str, str],
                 source_ip: str | None = None) -> Answer:
        store = self.control.store
        if service == "sts":
            if action == "GetCallerIdentity":  # needs no permission (STS API reference)
                store.ensure_loaded()
                fresh = store.default_principal if caller.arn == store.default_principal.arn \
                    else caller
                return ok("sts", action, {"Arn": fresh.arn, "UserId": fresh.user_id,
                                          "Account": fresh.account})
            if action == "GetAccessKeyInfo":
                owner = store.caller(params.get("AccessKeyId", ""))
                return ok("sts", action, {"Account": (owner.principal.account if owner
                                                      else caller.account)})
            if action == "AssumeRole":
                return self.assume_role(caller, params, source_ip)
            return error("sts", "InvalidAction", f"The lab's STS serves {', '.join(STS_SERVED)};"
                         f" {action or 'a request without Action'} is not one of them.", 400)
        target = Target(f"iam:{action}", iam_resource(action, params, caller), caller.account)
        self.control.authorize(caller, target, protocol="query",
                               context=self._context(caller, source_ip))
        if action in SELF_ACTIONS and "UserName" not in params and caller.kind == "user":
            params = {**params, "UserName": caller.name}
        return store.iam(caller, params)

    def _context(self, caller: Principal, source_ip: str | None) -> Any:
        from .control import RequestContext

        return RequestContext(caller, source_ip=source_ip, now=self.control.clock())

    def assume_role(self, caller: Principal, params: dict[str, str],
                    source_ip: str | None) -> Answer:
        store = self.control.store
        role_arn = params.get("RoleArn", "")
        role = store.role(role_arn)
        refused = M.DENY_TRUST.format(principal=caller.arn, resource=role_arn)
        if role is None:
            return error("sts", "AccessDenied", refused, 403)
        try:
            trust = P.parse(role.trust_policy, P.Kind.TRUST)
        except P.PolicyError:
            return error("sts", "AccessDenied", refused, 403)
        ctx = self._context(caller, source_ip)
        grant, denied = resource_grant(trust, caller, "sts:AssumeRole", role_arn, ctx)
        if grant is None or denied:
            return error("sts", "AccessDenied", refused, 403)
        identity, session = store.policies(caller)
        decision = evaluate(caller, "sts:AssumeRole", role_arn, ctx, identity=identity,
                            resource_policy=trust, resource_account=role.account,
                            session_policy=session)
        if decision is not Decision.ALLOW:
            return error("sts", "AccessDenied",
                         decision.explain(caller.arn, "sts:AssumeRole", role_arn), 403)
        return store.assume_role(role, params)


def iam_resource(action: str, params: dict[str, str], caller: Principal) -> str:
    """The IAM resource an action is authorized on (IAM's service authorization reference:
    users, groups, roles, policies by ARN; `*` for account-wide calls)."""
    account = caller.account
    path = params.get("Path", "/") or "/"
    if "UserName" in params or (action in SELF_ACTIONS and caller.kind == "user"):
        name = params.get("UserName", caller.name)
        return f"arn:{PARTITION}:iam::{account}:user{path if action == 'CreateUser' else '/'}{name}"
    if "RoleName" in params:
        return f"arn:{PARTITION}:iam::{account}:role/{params['RoleName']}"
    if "GroupName" in params:
        return f"arn:{PARTITION}:iam::{account}:group/{params['GroupName']}"
    if "PolicyArn" in params:
        return params["PolicyArn"]
    if action == "CreatePolicy" and "PolicyName" in params:
        return f"arn:{PARTITION}:iam::{account}:policy{path}{params['PolicyName']}"
    return "*"


def ok(service: str, action: str, result: dict[str, str]) -> Answer:
    fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in result.items())
    body = (f'<{action}Response xmlns="{NAMESPACES[service]}"><{action}Result>{fields}'
            f"</{action}Result><ResponseMetadata><RequestId>{_request_id()}</RequestId>"
            f"</ResponseMetadata></{action}Response>")
    return Answer(200, [("Content-Type", "text/xml")], body.encode())


def error(service: str, code: str, message: str, status: int) -> Answer:
    """The query protocol's error document (botocore reads ErrorResponse/Error/Code)."""
    kind = "Sender" if status < 500 else "Receiver"
    body = (f'<ErrorResponse xmlns="{NAMESPACES[service]}"><Error><Type>{kind}</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{_request_id()}</RequestId></ErrorResponse>")
    return Answer(status, [("Content-Type", "text/xml"), ("x-amzn-ErrorType", code)],
                  body.encode())


def _request_id() -> str:
    return f"labkit-{time.time_ns()}"


_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            409: "Conflict", 500: "Internal Server Error"}
