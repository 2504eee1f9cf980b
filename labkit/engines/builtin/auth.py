"""Registry credentials for the built-in engine, kept like docker keeps them (never printed).

`login()` stores `registry -> user:password` in memory and in a 0600 JSON file under the engine
home (docker's config.json shape), so later pushes and pulls in other processes find them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .store import write_atomic


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=<hidden>)"

    __str__ = __repr__

    def basic(self) -> str:
        """The Authorization header value for Basic auth."""
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def registry_key(registry: str) -> str:
    """`https://host:port/` -> `host:port`, the key docker files credentials under."""
    key = re.sub(r"^[a-z]+://", "", registry.strip()).rstrip("/")
    return key.split("/", 1)[0]


class CredentialStore:
    """In-memory credentials backed by `auth.json` (mode 0600) in the engine home."""

    def __init__(self, path: Path):
        self.path = path
        self._memory: dict[str, Credentials] = {}

    def __repr__(self) -> str:
        return f"<CredentialStore {self.path} registries={sorted(self._read())}>"

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            doc = json.loads(self.path.read_bytes())
        except (FileNotFoundError, ValueError):
            return {}
        auths = doc.get("auths")
        return auths if isinstance(auths, dict) else {}

    def get(self, registry: str) -> Credentials | None:
        key = registry_key(registry)
        if key in self._memory:
            return self._memory[key]
        entry = self._read().get(key)
        if not entry or "auth" not in entry:
            return None
        with contextlib.suppress(ValueError):
            user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            return Credentials(user, password)
        return None

    def save(self, registry: str, creds: Credentials) -> None:
        key = registry_key(registry)
        self._memory[key] = creds
        auths = self._read()
        raw = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
        auths[key] = {"auth": raw}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps({"auths": auths}, indent=2, sort_keys=True).encode(),
                     mode=0o600)
        self.path.chmod(0o600)

    def erase(self, registry: str) -> None:
        key = registry_key(registry)
        self._memory.pop(key, None)
        auths = self._read()
        if auths.pop(key, None) is not None:
            write_atomic(self.path, json.dumps({"auths": auths}, indent=2).encode(), mode=0o600)


_PARAM_RE = re.compile(r'([a-zA-Z_]+)=(?:"([^"]*)"|([^\s,]*))')


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="...",service="...",scope="..."` -> ("bearer", {...})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
              for m in _PARAM_RE.finditer(rest)}
    return scheme.lower(), params
