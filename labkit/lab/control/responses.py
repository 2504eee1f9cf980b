"""The ECR API on the wire (AWS JSON 1.1): `X-Amz-Target` names the operation, the body is its
input, the answer is JSON; an error goes out with ECR's exception name in `__type` (what
botocore's parser maps to its modeled exceptions) and its message.

Only the wire is here: every operation, GetAuthorizationToken and the creation templates
included, goes through `EcrBackend.call` (validation, then the operation).  Anything unexpected
in the backend is logged and answered as ECR's ServerException, never a bare 500 page.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from ..access.control import AccessError
from ..trace import note, refuse
from .backend import EcrBackend
from .caller import ApiCaller
from .errors import EcrError, InvalidParameter, SerializationError, ServerError

log = logging.getLogger("labkit.lab.control")
TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921."
JSON_CT = "application/x-amz-json-1.1"
MAX_BODY = 32 * 1024 * 1024  # an UploadLayerPart of 20 MiB is ~27 MiB of base64 JSON
REASONS = {200: "OK", 400: "Bad Request", 500: "Internal Server Error"}


def is_ecr_request(environ: dict[str, Any]) -> bool:
    return environ.get("HTTP_X_AMZ_TARGET", "").startswith(TARGET_PREFIX)


def action_of(environ: dict[str, Any]) -> str:
    """The operation an ECR API request names (`...V20150921.CreateRepository`)."""
    return environ.get("HTTP_X_AMZ_TARGET", "").removeprefix(TARGET_PREFIX)


def send_json(start_response: Callable[..., Any], status: int, doc: dict[str, Any]
              ) -> Iterable[bytes]:
    """An ECR API answer on the wire: JSON 1.1, a request id, and the error type if any."""
    out = json.dumps(doc).encode()
    headers = [("Content-Type", JSON_CT), ("Content-Length", str(len(out))),
               ("x-amzn-RequestId", f"labkit-{time.time_ns()}")]
    if "__type" in doc:
        headers.append(("x-amzn-ErrorType", doc["__type"]))
    start_response(f"{status} {REASONS.get(status, '')}".rstrip(), headers)
    return [out]


def error_body(error: EcrError) -> dict[str, Any]:
    return {"__type": error.code, "message": error.message, **error.extra}


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


class Admission(Protocol):
    """Who is calling, and may they (labkit.lab.server.authz.ApiAdmission): both raise
    AccessError with ECR's code and message."""

    def authenticate(self, environ: dict[str, Any], body: bytes) -> ApiCaller: ...

    def authorize(self, environ: dict[str, Any], caller: ApiCaller, operation: str,
                  params: dict[str, Any]) -> None: ...


class EcrApi:
    """WSGI app for ECR API calls: read the body, admit the caller (signature, then
    permission once the input is valid), call the backend, write the answer."""

    def __init__(self, backend: EcrBackend, admission: Admission | None = None):
        self.backend = backend
        self.admission = admission

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        action = action_of(environ)
        try:
            body = read_body(environ)
            caller, authorize = None, None
            if self.admission is not None:  # AWS checks the signature before anything else
                caller = self.admission.authenticate(environ, body)
            params = parse_body(body)
            note(environ, **asked(params))  # for the lab's trace
            if self.admission is not None and caller is not None:
                admission, who = self.admission, caller
                authorize = lambda p: admission.authorize(environ, who, action, p)  # noqa: E731
            answer = self.backend.call(action, params, caller=caller, authorize=authorize) \
                if self.admission is not None else self.backend.call(action, params)
            return send_json(start_response, 200, answer)
        except AccessError as e:
            refuse(environ, e.code, e.message)
            return send_json(start_response, e.status, e.json_body())
        except EcrError as e:
            error: EcrError = e
        except Exception:  # noqa: BLE001 - a lab bug: logged, answered as ECR's ServerException
            log.exception("ECR API: unexpected error in %s", action[:100])
            error = ServerError(action[:100])
        refuse(environ, error.code, error.message)
        return send_json(start_response, error.status, error_body(error))


def read_body(environ: dict[str, Any]) -> bytes:
    """An ECR API request's body (InvalidParameter over MAX_BODY: it is not read)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        raise InvalidParameter(f"The request body is {length} bytes; the ECR lab takes at "
                               f"most {MAX_BODY}.")
    return environ["wsgi.input"].read(length) if length > 0 else b""


def parse_body(body: bytes) -> Any:
    """The body's JSON document ({} when empty); SerializationError if it is not JSON."""
    try:
        return json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise SerializationError() from None
