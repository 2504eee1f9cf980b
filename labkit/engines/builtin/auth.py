"""Registry credentials and auth challenges for the built-in engine.

Logins live where the docker CLI keeps them (see `labkit.engines.dockerconfig`), so the built-in
`docker login`, the real one and a notebook's `target.login(engine)` are one login.
"""

from __future__ import annotations

import re

from ..dockerconfig import Credentials, DockerConfig, registry_key

__all__ = ["Credentials", "DockerConfig", "parse_challenge", "registry_key"]

_PARAM_RE = re.compile(r'([a-zA-Z_]+)=(?:"([^"]*)"|([^\s,]*))')


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="...",service="...",scope="..."` -> ("bearer", {...})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
              for m in _PARAM_RE.finditer(rest)}
    return scheme.lower(), params
