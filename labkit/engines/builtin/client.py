"""An HTTP client for one registry, speaking the OCI Distribution protocol as docker does.

It authenticates the way docker does (GET /v2/, then the 401 challenge: Basic with the stored
credentials, or a Bearer token fetched from the challenge's realm), records every request as a
report Step (for the course's diagrams), and turns the spec's error codes into EngineErrors that
tell a learner what to do next. It never puts the password into a message.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import requests

from ... import config
from ..base import EngineError
from ..report import Step
from .auth import Credentials, parse_challenge, registry_key
from .refs import is_loopback

TIMEOUT = (10, 300)  # connect, read (seconds)
LOGIN_COMMAND = ("aws ecr get-login-password --region {region} | "
                 "docker login --username AWS --password-stdin {registry}")
_ECR_HOST_RE = re.compile(r"\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com")


def login_command(registry: str) -> str:
    m = _ECR_HOST_RE.search(registry)
    return LOGIN_COMMAND.format(region=m.group(1) if m else config.region(), registry=registry)


def _errors(resp: requests.Response) -> list[dict[str, Any]]:
    try:
        doc = resp.json()
    except ValueError:
        return []
    errs = doc.get("errors") if isinstance(doc, dict) else None
    return [e for e in errs if isinstance(e, dict)] if isinstance(errs, list) else []


class RegistryClient:
    """Requests to one registry, authenticated, recorded and with errors explained."""

    def __init__(self, registry: str, creds: Credentials | None = None,
                 steps: list[Step] | None = None, session: requests.Session | None = None):
        scheme = "https"
        if "://" in registry:
            scheme = registry.split("://", 1)[0]
        self.registry = registry_key(registry)
        if "://" not in registry and (is_loopback(self.registry) or self.registry in
                                      config_insecure()):
            scheme = "http"
        self.base = f"{scheme}://{self.registry}"
        self.creds = creds
        self.steps: list[Step] = steps if steps is not None else []
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = "labkit-builtin/0.1"
        self._authorization: str | None = None
        self.last_step: Step | None = None
        self._scheme: str | None = None  # "basic", "bearer" or "" (no auth needed)
        self.repository = ""  # for error hints

    def __repr__(self) -> str:
        return f"<RegistryClient {self.base} user={self.creds.username if self.creds else None}>"

    # -- plumbing -------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return path if "://" in path else self.base + path

    def record(self, method: str, url: str, status: int, nbytes: int = 0, note: str = ""
               ) -> Step:
        step = Step(method, urlsplit(url).path, status, nbytes, note)
        self.steps.append(step)
        return step

    def _send(self, method: str, url: str, headers: dict[str, str] | None = None,
              auth: bool = True, **kw: Any) -> requests.Response:
        hdrs = dict(headers or {})
        if auth and self._authorization:
            hdrs["Authorization"] = self._authorization
        try:
            return self.session.request(method, url, headers=hdrs, timeout=TIMEOUT,
                                        allow_redirects=False, **kw)
        except requests.ConnectionError as e:
            raise EngineError(
                f"cannot reach the registry at {self.registry}: "
                f"{_reason(e)}",
                hint="is the registry running? for the lab: `labkit lab up` "
                     "(or labkit.lab.ensure() in Python)") from None

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                ok: tuple[int, ...] = (200,), note: str = "", sent: int = 0,
                **kw: Any) -> requests.Response:
        """One request, authenticated (answering a 401 challenge once), recorded, checked."""
        url = self.url(path)
        resp = self._send(method, url, headers, **kw)
        if resp.status_code == 401:
            challenge = self.record(method, url, 401, 0, "challenge")  # docker sees it too
            if self._answer(resp):
                resp.close()
                rewind = getattr(kw.get("data"), "rewind", None)
                if rewind is not None:
                    rewind()  # a streamed body was consumed by the refused attempt
                resp = self._send(method, url, headers, **kw)
            else:
                self.steps.remove(challenge)  # recorded once below, as the final answer
        received = 0 if kw.get("stream") and resp.ok else len(resp.content or b"")
        self.last_step = self.record(method, url, resp.status_code, sent or received, note)
        if resp.status_code not in ok:
            raise self.error(resp, method, url)
        return resp

    # -- authentication -------------------------------------------------------------------
    def ping(self) -> None:
        """GET /v2/ like docker: learn the auth scheme, and check the credentials work."""
        self.request("GET", "/v2/", ok=(200,))

    def _answer(self, resp: requests.Response) -> bool:
        """Prepare an Authorization header for this 401's challenge; False if we cannot."""
        scheme, params = parse_challenge(resp.headers.get("WWW-Authenticate", ""))
        if self.creds is None and scheme != "bearer":
            return False
        if scheme == "basic":
            value = self.creds.basic() if self.creds else None
            if value is None or value == self._authorization:
                return False  # already sent these credentials: they are wrong
            self._authorization, self._scheme = value, "basic"
            return True
        if scheme == "bearer" and params.get("realm"):
            return self._fetch_token(params)
        return False

    def _fetch_token(self, params: dict[str, str]) -> bool:
        query = {k: params[k] for k in ("service", "scope") if params.get(k)}
        if self.repository and "scope" not in query:
            query["scope"] = f"repository:{self.repository}:pull,push"
        url = params["realm"] + ("?" + urlencode(query) if query else "")
        hdrs = {"Authorization": self.creds.basic()} if self.creds else {}
        try:
            r = self.session.get(url, headers=hdrs, timeout=TIMEOUT)
        except requests.ConnectionError as e:
            raise EngineError(f"cannot reach the token service {params['realm']}: "
                              f"{_reason(e)}") from None
        self.record("GET", url, r.status_code, len(r.content), "token")
        if r.status_code != 200:
            return False
        try:
            doc = r.json()
        except ValueError:
            return False
        token = doc.get("token") or doc.get("access_token")
        if not token:
            return False
        new = f"Bearer {token}"
        if new == self._authorization:
            return False
        self._authorization, self._scheme = new, "bearer"
        return True

    # -- errors ---------------------------------------------------------------------------
    def error(self, resp: requests.Response, method: str, url: str) -> EngineError:
        """The spec's error code as guidance a learner can act on (never with the password)."""
        errs = _errors(resp)
        code = str(errs[0].get("code", "")) if errs else ""
        message = str(errs[0].get("message", "")) if errs else ""
        status = resp.status_code
        repo = self.repository or "<name>"
        login = login_command(self.registry)
        if status == 401 or code == "UNAUTHORIZED":
            if self.creds is None:
                return EngineError(
                    f"no basic auth credentials for {self.registry} "
                    f"({status} {code or 'UNAUTHORIZED'})",
                    hint="log in first: step 2 (authenticate)", command=login)
            return EngineError(
                f"unauthorized: {message or 'incorrect username or password'} "
                f"({status} {code or 'UNAUTHORIZED'})",
                hint="the registry refused the credentials; log in again: step 2 "
                     "(a fresh password comes from get-login-password)", command=login)
        if code == "DENIED" and "expired" in message.lower():
            return EngineError(f"denied: {message}",
                               hint="your authorization token has expired; log in again: step 2",
                               command=login)
        if code == "NAME_UNKNOWN" or (status == 404 and "/blobs/uploads" in url and not code):
            return EngineError(
                f"name unknown: {message or f'repository {repo} not found'}",
                hint="create the repository first: step 1 (ECR creates one on push only under a "
                     "repository creation template for CREATE_ON_PUSH)",
                command=f"aws ecr create-repository --repository-name {repo}")
        if code == "MANIFEST_UNKNOWN" or (status == 404 and "/manifests/" in url):
            return EngineError(
                f"manifest unknown: {message or 'no such tag or digest'} ({url})",
                hint="check the tag: list the repository's images "
                     f"(aws ecr list-images --repository-name {repo}), or push it first")
        if code == "TAG_INVALID":
            return EngineError(
                f"tag invalid: {message or 'the tag already exists'}",
                hint="the repository's tags are IMMUTABLE: an existing tag cannot be "
                     "overwritten; push under a new tag (for example v2)")
        if code == "DENIED" or status == 403:
            return EngineError(f"denied: {message or 'access denied'} ({status})",
                               hint="the credentials lack permission for this repository, or "
                                    "the token expired: log in again (step 2)", command=login)
        detail = f"{code}: {message}" if code else (resp.text[:200] or resp.reason)
        return EngineError(f"{method} {urlsplit(url).path} failed with {status}: {detail}")


def config_insecure() -> set[str]:
    """Registries reached over plain HTTP besides loopback (LABKIT_INSECURE_REGISTRIES)."""
    import os

    raw = os.environ.get("LABKIT_INSECURE_REGISTRIES", "")
    return {registry_key(x) for x in raw.split(",") if x.strip()}


def _reason(e: Exception) -> str:
    text = str(e)
    if "refused" in text.lower():
        return "connection refused"
    if "reset" in text.lower() or "aborted" in text.lower():
        return "the connection was closed by the registry"
    return text.split(":")[-1].strip() or type(e).__name__


def join_location(base_url: str, location: str, **params: str) -> str:
    """Resolve an upload Location (relative or absolute) and add query parameters to it."""
    url = urljoin(base_url, location)
    if params:
        url += ("&" if "?" in url else "?") + urlencode(params)
    return url
