"""Image references (`registry/repo:tag` or `...@sha256:...`), split the way docker splits them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...oci import digest as dg
from ..base import EngineError

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPO_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
LOOPBACK = ("127.", "localhost", "[::1]")


@dataclass(frozen=True)
class Ref:
    registry: str  # "" for a local-only name (docker would mean Docker Hub)
    repository: str
    tag: str = ""
    digest: str = ""

    @property
    def reference(self) -> str:
        """What goes after /manifests/: the digest if pinned, else the tag."""
        return self.digest or self.tag

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    def __str__(self) -> str:
        if self.digest:
            return f"{self.name}@{self.digest}"
        return f"{self.name}:{self.tag}"


def _is_registry(part: str) -> bool:
    return "." in part or ":" in part or part == "localhost"


def parse(text: str) -> Ref:
    """Parse a reference; a missing tag means `latest`, as in docker."""
    raw = (text or "").strip()
    name, digest = raw, ""
    if "@" in raw:
        name, digest = raw.split("@", 1)
        if not dg.is_digest(digest):
            raise EngineError(f"invalid reference format: {raw!r} (bad digest)")
    tag = ""
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not _TAG_RE.match(tag):
            raise EngineError(f"invalid reference format: {raw!r} (bad tag {tag!r})")
    registry, repo = "", name
    first, _, rest = name.partition("/")
    if rest and _is_registry(first):
        registry, repo = first, rest
    if not _REPO_RE.match(repo):
        raise EngineError(f"invalid reference format: {raw!r}",
                          hint="repository names are lowercase letters, digits and . _ - /")
    if not tag and not digest:
        tag = "latest"
    return Ref(registry, repo, tag, digest)


def normalize(text: str) -> str:
    """The stored form of a reference (`hello-app` -> `hello-app:latest`)."""
    return str(parse(text))


def is_loopback(registry: str) -> bool:
    host = registry.rsplit(":", 1)[0] if not registry.startswith("[") else registry
    return host.startswith(LOOPBACK) or host == "localhost"
