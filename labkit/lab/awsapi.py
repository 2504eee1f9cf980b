"""The AWS APIs the lab answers (ECR, and STS for GetCallerIdentity), dispatched straight to
moto's response classes.

moto's own server (`moto.server`) builds a Flask app with a URL map of every AWS service on the
first request; the lab serves two services, so it hands each request to the one response class
it needs, as moto's server does for it, and spends no start-up on Flask. Any other service gets a
clear error instead of a half-emulated answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921."
SCOPE_RE = re.compile(r"Credential=[^/,]+/\d{8}/[^/]+/([a-z0-9-]+)/aws4_request")


def service_of(environ: dict[str, Any]) -> str | None:
    """The AWS service a request is for: from SigV4's credential scope, else ECR's target."""
    m = SCOPE_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if m:
        return m.group(1)
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith(ECR_TARGET):
        return "ecr"
    return None


def _handler(service: str | None) -> Callable[..., Any] | None:
    if service == "ecr":
        from moto.ecr.responses import ECRResponse

        return ECRResponse.dispatch
    if service == "sts":
        from moto.sts.responses import TokenResponse

        return TokenResponse.dispatch
    return None


def _request_class() -> type:
    from moto.core.request import Request

    class ServerRequest(Request):
        """moto's normalized request, marked as received by a real server (it adds Date)."""

        from_wsgi_server = True

    return ServerRequest


class AwsApis:
    """WSGI app: ECR and STS requests answered by moto's backends, anything else a 400."""

    def __init__(self) -> None:
        self._request: type | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        service = service_of(environ)
        handler = _handler(service)
        if handler is None:
            return self._not_here(service, start_response)
        if self._request is None:
            self._request = _request_class()
        request = self._request(environ)
        try:
            result = handler(request, request.raw_url, dict(request.headers))
        except Exception as e:  # botocore's ClientError, raised by some moto paths
            response = getattr(e, "response", None)
            if not isinstance(response, dict):
                raise
            result = 400, {}, response.get("Error", {}).get("Message", str(e))
        status, headers, body = result if len(result) == 3 else (200, {}, result)
        if isinstance(body, str):
            body = body.encode()
        out = [(k, str(v)) for k, v in dict(headers).items()
               if k.lower() not in ("content-length", "status", "transfer-encoding")]
        if request.method != "HEAD" or "content-length" not in {k.lower() for k in headers}:
            out.append(("Content-Length", str(len(body))))
        start_response(_status_line(int(status)), out)
        return [body]

    @staticmethod
    def _not_here(service: str | None, start_response: Callable[..., Any]) -> Iterable[bytes]:
        what = f"the {service!r} API" if service else "this request (no AWS service named)"
        doc = {"__type": "UnsupportedService",
               "message": f"the lab answers ECR (and STS GetCallerIdentity) only, not {what}; "
                          "point other AWS calls at AWS itself"}
        out = json.dumps(doc).encode()
        start_response("400 Bad Request", [("Content-Type", "application/json"),
                                           ("Content-Length", str(len(out))),
                                           ("x-amzn-ErrorType", "UnsupportedService")])
        return [out]


def _status_line(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Unknown"
