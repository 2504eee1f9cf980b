"""The ECR API on the wire: moto's server app, with the lab's checks before and fixes after.

Before: repository-name validation as ECR does it. After: GetAuthorizationToken returns the lab's
real, expiring token and a proxyEndpoint naming the lab; state changes are saved and mirrored
into the registry's storage.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..auth import TokenIssuer
from .models import EcrControlPlane
from .rules import EcrError, check_repository_name

log = logging.getLogger("labkit.lab.control")
TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921."
JSON_CT = "application/x-amz-json-1.1"
# Actions after which repositories or images may have changed.
MUTATING = {"CreateRepository", "DeleteRepository", "PutImageTagMutability",
            "PutImageScanningConfiguration", "PutLifecyclePolicy", "DeleteLifecyclePolicy",
            "SetRepositoryPolicy", "DeleteRepositoryPolicy", "TagResource", "UntagResource",
            "PutImage", "BatchDeleteImage"}
IMAGE_CHANGING = {"PutImage", "BatchDeleteImage", "DeleteRepository"}
NAME_CHECKED = {"CreateRepository"}

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class EcrApi:
    """WSGI app for every non-registry request: ECR actions get the lab's rules, the rest is moto."""

    def __init__(self, moto_app: WSGIApp, control: EcrControlPlane, issuer: TokenIssuer,
                 token_ttl: Callable[[], float], proxy_endpoint: Callable[[], str]):
        self.moto_app = moto_app
        self.control = control
        self.issuer = issuer
        self.token_ttl = token_ttl
        self.proxy_endpoint = proxy_endpoint

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith(TARGET_PREFIX):
            return self.moto_app(environ, start_response)
        action = target[len(TARGET_PREFIX):]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
        try:
            if action in NAME_CHECKED:
                check_repository_name(params.get("repositoryName"))
        except EcrError as e:
            return _error(start_response, e)
        if action == "GetAuthorizationToken":
            return self._authorization_token(params, start_response)

        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        with self.control.lock:
            status_headers: dict[str, Any] = {}

            def sr(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                status_headers["status"], status_headers["headers"] = status, headers
                return lambda data: None

            out = b"".join(self.moto_app(environ, sr))
            ok = status_headers.get("status", "500").startswith("2")
            if ok and action in MUTATING:
                try:
                    if action in IMAGE_CHANGING:
                        self.control.sync_storage(params.get("repositoryName"))
                    self.control.save()
                except Exception:  # the API call succeeded; never let bookkeeping 500 it
                    log.exception("could not save the control plane after %s", action)
        headers = [(k, v) for k, v in status_headers["headers"] if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(out))))
        start_response(status_headers["status"], headers)
        return [out]

    def _authorization_token(self, params: dict[str, Any], start_response: Callable[..., Any]
                             ) -> Iterable[bytes]:
        token = self.issuer.issue(self.token_ttl())
        ids = params.get("registryIds") or [self.control.registry_id]
        data = [{"authorizationToken": token.authorization_token,
                 "expiresAt": token.expires_at,
                 "proxyEndpoint": self.proxy_endpoint()} for _ in ids]
        out = json.dumps({"authorizationData": data}).encode()
        start_response("200 OK", [("Content-Type", JSON_CT), ("Content-Length", str(len(out))),
                                  ("x-amzn-RequestId", f"labkit-{time.time_ns()}")])
        return [out]


def _error(start_response: Callable[..., Any], e: EcrError) -> Iterable[bytes]:
    out = json.dumps({"__type": e.code, "message": e.message}).encode()
    start_response("400 Bad Request", [("Content-Type", JSON_CT),
                                       ("Content-Length", str(len(out))),
                                       ("x-amzn-ErrorType", e.code)])
    return [out]
