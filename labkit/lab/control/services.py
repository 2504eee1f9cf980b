"""Everything on the lab's port that is neither `/v2/` nor an ECR API call.

The lab serves the ECR API, IAM and STS (the access engine's `iam_sts` app: `aws iam ...`,
`aws sts get-caller-identity`, `aws sts assume-role`) and the registry at `/v2/`.  Any other
request (an S3 `GET /`, another service's action) gets a clear error naming them, never another
AWS service's answer.

`GET /` is also the realm of the registry's 401 challenge (as on ECR, the registry's root URL):
a client that follows the realm gets JSON telling it how to authenticate, not XML.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

Environ = dict[str, Any]
WSGIApp = Callable[[Environ, Callable[..., Any]], Iterable[bytes]]
SERVED = ("the Amazon ECR API (X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.*), "
          "IAM, STS and the registry at /v2/")
MAX_BODY = 1 << 20


def _answer(start_response: Callable[..., Any], status: str, doc: dict[str, Any],
            headers: list[tuple[str, str]] | None = None) -> Iterable[bytes]:
    out = json.dumps(doc).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(out))), *(headers or [])])
    return [out]


class OtherServices:
    """IAM and STS through the access engine; the realm at `/`; a clear refusal for the rest."""

    def __init__(self, iam_sts: Callable[[], WSGIApp],
                 is_iam_sts: Callable[[Environ, bytes], bool], challenge: Callable[[], str],
                 credentials_ok: Callable[[str | None], bool]):
        self._iam_sts = iam_sts  # looked up per request: built on first use (moto loads then)
        self.is_iam_sts = is_iam_sts
        self.challenge = challenge
        self.credentials_ok = credentials_ok

    def __call__(self, environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "") or "/"
        body = b""
        if method == "POST":
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            body = environ["wsgi.input"].read(length) if 0 < length <= MAX_BODY else b""
        action = self._action(environ, body)
        if path == "/" and self.is_iam_sts(environ, body):
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            return self._iam_sts()(environ, start_response)
        if path == "/" and method in ("GET", "HEAD") and not action:
            return self.realm(environ, start_response)
        # a HEAD is refused as its GET would be: same words, so the same Content-Length
        # (RFC 9110 8.6), though the front door sends no body
        shown = "GET" if method == "HEAD" else method
        what = f"{action}" if action else f"{shown} {path[:200]}"
        return _answer(start_response, "400 Bad Request", {
            "__type": "UnsupportedOperation",
            "message": f"The ECR lab does not serve {what}: it serves only {SERVED}. Other AWS "
                       "services are not part of the lab."},
            [("x-amzn-ErrorType", "UnsupportedOperation")])

    @staticmethod
    def _action(environ: Environ, body: bytes) -> str:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        form = parse_qs(body.decode("utf-8", "replace")) if body else {}
        found = (form.get("Action") or query.get("Action") or [""])[0]
        return found or environ.get("HTTP_X_AMZ_TARGET", "")

    def realm(self, environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        """The registry's realm: how to authenticate, in JSON."""
        how = ("The ECR lab's registry: send HTTP Basic credentials AWS:<password> on every /v2/ "
               "request; the password comes from `aws ecr get-login-password` "
               "(GetAuthorizationToken).")
        if not self.credentials_ok(environ.get("HTTP_AUTHORIZATION")):
            return _answer(start_response, "401 Unauthorized", {"errors": [
                {"code": "UNAUTHORIZED", "message": how}]},
                [("WWW-Authenticate", self.challenge())])
        return _answer(start_response, "200 OK", {
            "registry": "ECR lab", "auth": "basic", "message": f"Credentials accepted. {how}"})
