"""The ECR API on the wire (AWS JSON 1.1): `X-Amz-Target` names the operation, the body is its
input.  Input is checked against botocore's model, the backend answers, errors go out with ECR's
exception name in `__type` (what botocore's parser maps to its modeled exceptions).

GetAuthorizationToken answers the lab's real, expiring token here (it needs the lab's signer).
Anything unexpected in the backend is logged and answered as ECR's ServerException, never a bare
500 page.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..auth.tokens import TokenIssuer
from ..trace import note, refuse
from . import validation
from .backend import EcrBackend, snake
from .errors import EcrError

log = logging.getLogger("labkit.lab.control")
TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921."
JSON_CT = "application/x-amz-json-1.1"


def send_json(start_response: Callable[..., Any], status: str, doc: dict[str, Any]
              ) -> Iterable[bytes]:
    """An ECR API answer on the wire: JSON 1.1, a request id, and the error type if any."""
    out = json.dumps(doc).encode()
    headers = [("Content-Type", JSON_CT), ("Content-Length", str(len(out))),
               ("x-amzn-RequestId", f"labkit-{time.time_ns()}")]
    if "__type" in doc:
        headers.append(("x-amzn-ErrorType", doc["__type"]))
    start_response(status, headers)
    return [out]
MAX_BODY = 32 * 1024 * 1024  # an UploadLayerPart of 20 MiB is ~27 MiB of base64 JSON


def as_ecr_error(e: Exception) -> EcrError | None:
    """An error of a lab module that carries ECR's exception name (`code`, `message`), such as
    the lifecycle evaluator's or the creation templates'; None for anything else (a bug)."""
    code, message = getattr(e, "code", None), getattr(e, "message", None)
    if isinstance(code, str) and code.endswith("Exception") and isinstance(message, str):
        return EcrError(code, message)
    return None


def asked(params: Any) -> dict[str, str]:
    """The repository (and tag or digest) an ECR API call names, when it names one: what the
    lab's trace keeps of a call so that a refusal can be explained."""
    if not isinstance(params, dict):
        return {}
    out: dict[str, str] = {}
    name = params.get("repositoryName")
    names = params.get("repositoryNames")
    if isinstance(name, str):
        out["repository"] = name
    elif isinstance(names, list) and len(names) == 1 and isinstance(names[0], str):
        out["repository"] = names[0]
    ids = params.get("imageIds")
    if isinstance(ids, list) and len(ids) == 1 and isinstance(ids[0], dict):
        ref = ids[0].get("imageDigest") or ids[0].get("imageTag")
        if isinstance(ref, str):
            out["reference"] = ref
    return out


def is_ecr_request(environ: dict[str, Any]) -> bool:
    return environ.get("HTTP_X_AMZ_TARGET", "").startswith(TARGET_PREFIX)


class EcrApi:
    """WSGI app for ECR API calls: parse, validate, dispatch to the backend, serialize."""

    def __init__(self, backend: EcrBackend, issuer: TokenIssuer,
                 token_ttl: Callable[[], float], proxy_endpoint: Callable[[], str]):
        self.backend = backend
        self.issuer = issuer
        self.token_ttl = token_ttl
        self.proxy_endpoint = proxy_endpoint

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        action = environ.get("HTTP_X_AMZ_TARGET", "")[len(TARGET_PREFIX):]
        try:
            params = self._body(environ)
            note(environ, **asked(params))  # for the lab's trace
            status, doc = "200 OK", self.call(action, params)
        except Exception as e:  # noqa: BLE001 - ECR's errors, or ECR's answer to a lab bug
            err = e if isinstance(e, EcrError) else as_ecr_error(e)
            if err is None:
                log.exception("ECR API: unexpected error in %s", action)
                err = EcrError("ServerException", f"The ECR lab failed on {action}; see the "
                               "lab's log (labkit lab logs).", status=500)
            reason = "Bad Request" if err.status < 500 else "Internal Server Error"
            status = f"{err.status} {reason}"
            doc = {"__type": err.code, "message": err.message, **err.extra}
            refuse(environ, err.code, err.message)
        return send_json(start_response, status, doc)

    @staticmethod
    def _body(environ: dict[str, Any]) -> Any:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY:
            raise EcrError("InvalidParameterException",
                           f"The request body is {length} bytes; the lab takes at most {MAX_BODY}.")
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        try:
            return json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise EcrError("SerializationException", "The request body is not valid JSON.") from None

    def call(self, action: str, params: Any) -> dict[str, Any]:
        """One operation: what the lab answers for `action` with input `params`."""
        op = validation.operation(action)
        if op is None:
            raise EcrError("UnknownOperationException",
                           f"The ECR API has no operation named '{action}'.")
        validation.check(op, params)
        if action == "GetAuthorizationToken":
            return self.authorization_token(params)
        handler = getattr(self.backend, snake(action), None)
        if handler is None:  # a newer botocore than the lab knows
            raise EcrError("ValidationException", f"The ECR lab does not support {action} yet.")
        with self.backend.lock:
            return handler(params)

    def authorization_token(self, params: dict[str, Any]) -> dict[str, Any]:
        token = self.issuer.issue(self.token_ttl())
        ids = params.get("registryIds") or [self.backend.registry_id]
        return {"authorizationData": [
            {"authorizationToken": token.authorization_token, "expiresAt": token.expires_at,
             "proxyEndpoint": self.proxy_endpoint()} for _ in ids]}
