"""ECR's "create on push": a push to a missing repository covered by a repository creation
template applied for CREATE_ON_PUSH creates the repository with the template's settings.

The registry asks `CreateOnPush(name)` before it answers NAME_UNKNOWN.  The repository is made
through the lab's own ECR API (`CreateRepository`, then `PutLifecyclePolicy` and
`SetRepositoryPolicy` if the template has them), called in-process, so a repository created on
push is exactly what the same calls from the AWS CLI would have made.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from .templates import Template, TemplateStore

log = logging.getLogger("labkit.lab.control")
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


class CreateOnPush:
    """The registry's `repository_factory`: True if a template made the repository exist."""

    def __init__(self, templates: TemplateStore, call: Caller):
        self.templates = templates
        self.call = call
        self._lock = threading.Lock()  # two layers of one push arrive at once: create once

    def __call__(self, name: str) -> bool:
        template = self.templates.match(name, "CREATE_ON_PUSH")
        if template is None:
            return False
        with self._lock:
            try:
                self._create(name, template)
            except ApiCallError as e:  # a clear 403 for docker, not a 500
                from ..registry.errors import Denied

                raise Denied(f"ECR could not create the repository '{name}' from the repository "
                             f"creation template '{template.prefix}': {e}") from None
        log.info("create on push: created %s from the template with prefix %s", name,
                 template.prefix)
        return True

    def _create(self, name: str, template: Template) -> None:
        try:
            self.call("CreateRepository", template.create_repository_params(name))
        except ApiCallError as e:
            if e.code == "RepositoryAlreadyExistsException":
                return  # another request of the same push (or the learner) was first
            raise
        if template.lifecycle_policy:
            self.call("PutLifecyclePolicy", {"repositoryName": name,
                                             "lifecyclePolicyText": template.lifecycle_policy})
        if template.repository_policy:
            self.call("SetRepositoryPolicy", {"repositoryName": name,
                                              "policyText": template.repository_policy})
