"""An HTTP client for one registry, speaking the OCI Distribution protocol as docker does.

It authenticates the way docker does (GET /v2/, then the 401 challenge: Basic with the stored
credentials, or a Bearer token fetched from the challenge's realm), records every request as a
report Step (for the course's diagrams), and turns the spec's error codes into EngineErrors that
tell a learner what to do next. It never puts the password into a message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import requests

from ..base import EngineError
from ..hints import for_message
from ..report import Step
from ..trust import reach
from .auth import Credentials, parse_challenge, registry_key
from .refs import is_loopback

TIMEOUT = (10, 300)  # connect, read (seconds)


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
                 steps: list[Step] | None = None, session: requests.Session | None = None,
                 trust_home: Path | None = None):
        self.registry = registry_key(registry)
        how = reach(self.registry, is_loopback(self.registry) or
                    self.registry in config_insecure(),  # a TLS lab: HTTPS with its CA
                    trust_home)
        scheme = registry.split("://", 1)[0] if "://" in registry else how.scheme
        self.base = f"{scheme}://{self.registry}"
        self.creds = creds
        self.steps: list[Step] = steps if steps is not None else []
        self.session = session or requests.Session()
        # per request, not on the session: requests lets REQUESTS_CA_BUNDLE override a
        # session's `verify`, and a TLS lab's CA is in no system bundle
        self.verify = how.verify
        self.session.headers["User-Agent"] = "labkit-builtin/0.1"
        self._authorization: str | None = None
        self.last_step: Step | None = None
        self._scheme: str | None = None  # "basic", "bearer" or "" (no auth needed)
        self.repository = ""  # for error messages and hints
        self.action = ""  # "push" or "pull": docker words some errors differently
        self.reference = ""  # the tag or digest being pushed or pulled

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
                                        allow_redirects=False, verify=self.verify, **kw)
        except requests.exceptions.SSLError as e:
            reason = _reason(e)
            found = for_message(reason, registry=self.registry)
            raise EngineError(f"Get \"{url}\": {reason}",
                              hint=found.text if found else None) from None
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
            r = self.session.get(url, headers=hdrs, timeout=TIMEOUT, verify=self.verify)
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
        """The failure in docker's words, plus the course's one hint (never with the password)."""
        errs = _errors(resp)
        code = str(errs[0].get("code", "")) if errs else ""
        message = str(errs[0].get("message", "")) if errs else ""
        status = resp.status_code
        repo = self.repository
        if status == 401 and self.creds is None:
            text = "no basic auth credentials"
        elif code:
            text = f"{code.lower().replace('_', ' ')}: {message}".rstrip(": ")
        elif status == 401:
            text = "unauthorized: authentication required"
        elif status == 404 and "/manifests/" in url:
            text = "manifest unknown: Requested image not found"
        else:
            text = f"{method} {urlsplit(url).path} failed with {status}: " \
                   f"{resp.text[:200] or resp.reason}"
        if self.action == "pull":  # docker names what it was resolving
            name = f"{self.registry}/{repo}"
            if code == "MANIFEST_UNKNOWN" or (status == 404 and not code):
                text = f"manifest for {name}:{self.reference} not found: {text}"
            elif code == "NAME_UNKNOWN":
                text = f"repository {name} not found: {text}"
            elif status in (401, 403):
                text = f'Head "{self.base}/v2/{repo}/manifests/{self.reference}": {text}'
        return guided(text, repo, self.registry, self.action)


def guided(text: str, repository: str = "", registry: str = "", action: str = ""
           ) -> EngineError:
    """An EngineError with docker's text and the hints table's line for it."""
    hint = for_message(text, repository, registry, action)
    if hint is None:
        return EngineError(text)
    return EngineError(text, hint.advice(), hint.command)


def config_insecure() -> set[str]:
    """Registries reached over plain HTTP besides loopback (LABKIT_INSECURE_REGISTRIES)."""
    import os

    raw = os.environ.get("LABKIT_INSECURE_REGISTRIES", "")
    return {registry_key(x) for x in raw.split(",") if x.strip()}


def _reason(e: Exception) -> str:
    text = str(e)
    if "CERTIFICATE_VERIFY_FAILED" in text:  # docker's words for it
        return "tls: failed to verify certificate: x509: certificate signed by unknown authority"
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
