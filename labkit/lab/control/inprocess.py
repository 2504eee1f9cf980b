"""Calling the lab's own ECR API in-process: the same WSGI app the AWS CLI reaches over HTTP,
so what the lab does on its own (create on push, lifecycle expiry) goes through exactly the
code paths and rules a client's calls go through."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921."
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Caller = Callable[[str, dict[str, Any]], dict[str, Any]]


class ApiCallError(RuntimeError):
    """The lab's ECR API refused an in-process call; `code` is ECR's exception name."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code


def wsgi_caller(app: WSGIApp, region: str, access_key: str) -> Caller:
    """Call an ECR action on the lab's API app in-process, as the AWS CLI would over HTTP.

    The Authorization header carries only the credential scope (which routes the request to
    ECR); the lab's ECR API does not verify signatures, over the wire or here.
    """

    def call(action: str, params: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(params).encode()
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "0", "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": f"api.ecr.{region}.amazonaws.com",
            "CONTENT_TYPE": "application/x-amz-json-1.1", "CONTENT_LENGTH": str(len(body)),
            "HTTP_X_AMZ_TARGET": TARGET_PREFIX + action,
            "HTTP_AUTHORIZATION": (f"AWS4-HMAC-SHA256 Credential={access_key}/20000101/{region}"
                                   "/ecr/aws4_request, SignedHeaders=host, Signature=labkit"),
            "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http", "wsgi.errors": io.StringIO(),
            "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        status: list[str] = []

        def start_response(s: str, headers: list, exc_info: Any = None) -> Callable:
            status.append(s)
            return lambda data: None

        out = b"".join(app(environ, start_response))
        try:
            doc = json.loads(out or b"{}")
        except ValueError:
            doc = {"message": out[:200].decode(errors="replace")}
        if not status or not status[0].startswith("2"):
            code = str(doc.get("__type", "ServerException")).rsplit("#", 1)[-1]
            raise ApiCallError(code, str(doc.get("message") or doc.get("Message") or status))
        return doc

    return call
