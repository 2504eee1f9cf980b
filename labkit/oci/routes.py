"""The registry's URL grammar (OCI distribution spec v1.1, plus the lab's pre-signed storage):
the one router. The lab dispatches with it, and an engine's recorded steps are described with
it (labkit.trace.steps), so no other code matches `/v2/` paths.

Repository names contain slashes, so paths are matched from the right (names are greedy).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROUTES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^/v2/?$"), "base"),
    (re.compile(r"^/v2/_catalog$"), "catalog"),
    (re.compile(r"^/v2/(?P<name>.+)/blobs/uploads(?:/(?P<upload>[^/]*))?$"), "upload"),
    (re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<digest>[^/]+)$"), "blob"),
    (re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)$"), "manifest"),
    (re.compile(r"^/v2/(?P<name>.+)/tags/list$"), "tags"),
    (re.compile(r"^/v2/(?P<name>.+)/referrers/(?P<digest>[^/]+)$"), "referrers"),
    (re.compile(r"^/_storage/blobs/sha256/(?P<hex>[^/]+)$"), "storage"),
]
METHODS = {
    "base": {"GET", "HEAD"}, "catalog": {"GET"}, "tags": {"GET"}, "referrers": {"GET"},
    "upload": {"POST", "PATCH", "PUT", "GET", "DELETE"}, "blob": {"GET", "HEAD", "DELETE"},
    "manifest": {"GET", "HEAD", "PUT", "DELETE"}, "storage": {"GET", "HEAD"},
}


@dataclass(frozen=True)
class Match:
    """A matched path: the route's name and what the path named."""

    route: str
    name: str | None = None  # the repository
    reference: str | None = None  # a manifest's tag or digest
    digest: str | None = None  # a blob's (or a storage object's) digest
    upload: str | None = None  # an upload session id ("" for the POST that starts one)



def match(path: str) -> Match | None:
    """The first route whose pattern matches `path`, or None."""
    for pattern, route in ROUTES:
        m = pattern.match(path)
        if m is None:
            continue
        groups = m.groupdict()
        digest = groups.get("digest")
        if route == "storage":
            digest = f"sha256:{groups['hex']}"
        return Match(route, groups.get("name"), groups.get("reference"), digest,
                     groups.get("upload"))
    return None


def path(route: str, name: str = "", reference: str = "", digest: str = "") -> str:
    """The path of a route (the inverse of `match`), for a request described by its fields."""
    if route == "base":
        return "/v2/"
    if route == "catalog":
        return "/v2/_catalog"
    if route == "upload":
        return f"/v2/{name}/blobs/uploads/"
    if route == "blob":
        return f"/v2/{name}/blobs/{digest}"
    if route == "manifest":
        return f"/v2/{name}/manifests/{reference}"
    if route == "tags":
        return f"/v2/{name}/tags/list"
    if route == "referrers":
        return f"/v2/{name}/referrers/{digest}"
    if route == "storage":
        return f"/_storage/blobs/sha256/{digest.split(':', 1)[-1]}"
    raise ValueError(f"no such route {route!r}")
