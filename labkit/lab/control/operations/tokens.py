"""GetAuthorizationToken: the registry password docker logs in with (the lab's real, expiring
token from auth/tokens.py) and the endpoint it is good for."""

from __future__ import annotations

from collections.abc import Callable

from ...auth.tokens import TokenIssuer
from ..ecr_registry import EcrRegistry, Params


class Tokens:
    def __init__(self, registry: EcrRegistry, issuer: TokenIssuer, ttl: Callable[[], float],
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
