"""HMAC signing with the lab's own secret: registry passwords and pre-signed storage URLs.

Each lab home has its own random secret, so a token or URL issued by one lab opens no other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path


def load_secret(home: Path) -> bytes:
    """The lab's secret, created on first use (0600) and kept across restarts."""
    path = home / "secret.key"
    home.mkdir(parents=True, exist_ok=True)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


class Signer:
    """Signs and checks short strings; comparison is constant-time."""

    def __init__(self, secret: bytes):
        self._secret = secret

    def sign(self, message: str) -> str:
        mac = hmac.new(self._secret, message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def verify(self, message: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(message), signature or "")

    def __repr__(self) -> str:
        return "Signer(secret=***)"
