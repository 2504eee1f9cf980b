"""GetAuthorizationToken: the registry password docker logs in with (the lab's real, expiring
token) and the endpoint it is good for. Who the token is for is the token source's business:
the lab's source (labkit.lab.access) makes it carry the API caller (control/caller.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ...auth.tokens import Token
from ..ecr_registry import EcrRegistry, Params


class TokenSource(Protocol):
    def issue(self, ttl: float) -> Token: ...


class Tokens:
    def __init__(self, registry: EcrRegistry, issuer: TokenSource, ttl: Callable[[], float],
                 proxy_endpoint: Callable[[], str]):
        self.reg = registry
        self.issuer = issuer
        self.ttl = ttl
        self.proxy_endpoint = proxy_endpoint

    def get_authorization_token(self, params: Params) -> Params:
        token = self.issuer.issue(self.ttl())
        ids = params.get("registryIds") or [self.reg.registry_id]
        return {"authorizationData": [
            {"authorizationToken": token.authorization_token, "expiresAt": token.expires_at,
             "proxyEndpoint": self.proxy_endpoint()} for _ in ids]}
