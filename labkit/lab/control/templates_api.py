"""The four repository-creation-template actions of the ECR API, answered from the
TemplateStore; every other request passes through to the wrapped ECR API app."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from ..trace import refuse
from .responses import send_json
from .templates import TemplateError, TemplateStore

TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921."
ACTIONS = {"CreateRepositoryCreationTemplate", "UpdateRepositoryCreationTemplate",
           "DeleteRepositoryCreationTemplate", "DescribeRepositoryCreationTemplates"}
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class TemplateApi:
    """WSGI middleware: template actions here, the rest to `app`."""

    def __init__(self, app: WSGIApp, templates: TemplateStore):
        self.app = app
        self.templates = templates

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        action = environ.get("HTTP_X_AMZ_TARGET", "").removeprefix(TARGET_PREFIX)
        if action not in ACTIONS:
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            params = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
            if not isinstance(params, dict):
                raise ValueError
        except ValueError:
            refuse(environ, "SerializationException", "the request body is not JSON")
            return send_json(start_response, "400 Bad Request", {
                "__type": "SerializationException", "message": "the request body is not JSON"})
        try:
            doc = self.handle(action, params)
        except TemplateError as e:
            refuse(environ, e.code, e.message)
            return send_json(start_response, "400 Bad Request",
                              {"__type": e.code, "message": e.message})
        return send_json(start_response, "200 OK", doc)

    def handle(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        registry_id = self.templates.registry_id
        if action == "DescribeRepositoryCreationTemplates":
            found = self.templates.describe(params.get("prefixes"))
            return {"registryId": registry_id,
                    "repositoryCreationTemplates": [t.to_api() for t in found]}
        if action == "CreateRepositoryCreationTemplate":
            template = self.templates.create(params)
        elif action == "UpdateRepositoryCreationTemplate":
            template = self.templates.update(params)
        else:
            template = self.templates.delete(params.get("prefix"))
        return {"registryId": registry_id, "repositoryCreationTemplate": template.to_api()}
