"""A tiny in-test server around AccessControl, for real clients (boto3, the AWS CLI).

It routes as the lab will: IAM/STS requests to `control.iam_sts`; ECR API calls are
authenticated and authorized by the engine and then answered `{}` (GetAuthorizationToken:
the engine's token), since the ECR backend itself is not under test here.
"""

from __future__ import annotations

import io
import json
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from labkit.lab.access import AccessControl, AccessError
from labkit.lab.access.iamsts import is_iam_sts
from labkit.lab.auth.signing import Signer

ECR_PREFIX = "AmazonEC2ContainerRegistry_V20150921."


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class _Threaded(WSGIServer):
    daemon_threads = True


@dataclass
class Repos:
    """What the stub ECR side knows: repository policies and tags, by (account, name)."""

    policies: dict[tuple[str, str], str] = field(default_factory=dict)
    tags: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)


def make_app(control: AccessControl, repos: Repos) -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        if is_iam_sts(environ, body):
            return list(control.iam_sts(environ, start_response))
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        status, doc = "200 OK", {}
        try:
            verified = control.authenticate(environ, body)
            operation = target[len(ECR_PREFIX):]
            params = json.loads(body or b"{}")
            control.authorize_api(
                verified.principal, operation, params, region=verified.region,
                source_ip=environ.get("REMOTE_ADDR"),
                repository_policy=lambda a, n: repos.policies.get((a, n)),
                resource_tags=lambda a, n: repos.tags.get((a, n), {}))
            if operation == "GetAuthorizationToken":
                token = control.issue_token(verified.principal, verified.region, 3600)
                doc = {"authorizationData": [{"authorizationToken": token.authorization_token,
                                              "expiresAt": token.expires_at,
                                              "proxyEndpoint": "http://127.0.0.1"}]}
            elif operation == "SetRepositoryPolicy":
                control.repository_policy(params["policyText"])
                repos.policies[(params.get("registryId") or verified.principal.account,
                                params["repositoryName"])] = params["policyText"]
        except AccessError as e:
            status, doc = f"{e.status} Refused", e.json_body()
        out = json.dumps(doc).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"),
                   ("Content-Length", str(len(out)))]
        if "__type" in doc:
            headers.append(("x-amzn-ErrorType", doc["__type"]))
        start_response(status, headers)
        return [out]

    return app


@dataclass
class Lab:
    control: AccessControl
    url: str
    account: str
    home: Path
    repos: Repos

    def client(self, service: str, key: str | None = None, secret: str | None = None,
               token: str | None = None, region: str = "us-east-1") -> Any:
        import boto3
        from botocore.config import Config

        from labkit.config import LAB_ACCESS_KEY, LAB_SECRET_KEY

        return boto3.client(service, endpoint_url=self.url, region_name=region,
                            aws_access_key_id=key or LAB_ACCESS_KEY,
                            aws_secret_access_key=secret or LAB_SECRET_KEY,
                            aws_session_token=token,
                            config=Config(retries={"max_attempts": 1}))


def new_account() -> str:
    return f"{secrets.randbelow(9 * 10 ** 11) + 10 ** 11}"


def serve(control: AccessControl, home: Path, repos: Repos | None = None) -> Iterator[Lab]:
    repos = repos or Repos()
    server = make_server("127.0.0.1", 0, make_app(control, repos), server_class=_Threaded,
                         handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Lab(control, f"http://127.0.0.1:{server.server_port}", control.account, home,
                  repos)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """A lab whose default account is fresh (moto's models are process-wide: each test its
    own accounts)."""
    control = AccessControl(tmp_path, Signer(b"k" * 32), "lab-under-test",
                            account=new_account())
    yield from serve(control, tmp_path)
