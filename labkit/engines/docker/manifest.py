"""Read a pushed image's manifest from the registry (what `docker manifest inspect` shows).

Why: docker's push events name layers by uncompressed DiffID and report no compressed sizes; the
manifest gives each layer's digest and size as the registry stores them.
"""

from __future__ import annotations

import ipaddress
import re

import requests

from ...oci import manifest as mf
from ...oci import mediatypes as mt
from ..trust import reach


def _plain(registry: str) -> bool:
    """docker's rule: loopback registries speak plain HTTP, everything else HTTPS."""
    if registry.startswith("["):
        host = registry[1:registry.find("]")]
    else:
        host = registry.rsplit(":", 1)[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def scheme(registry: str) -> str:
    """docker's rule, unless the registry is a TLS lab or has a CA in certs.d (engines.trust)."""
    return reach(registry, _plain(registry)).scheme


def _bearer(challenge: str, auth: tuple[str, str] | None, timeout: float) -> str | None:
    """Token flow for registries that answer 401 with `Bearer realm=...` (Distribution, Hub)."""
    params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    realm = params.pop("realm", None)
    if not realm:
        return None
    r = requests.get(realm, params=params, auth=auth, timeout=timeout)
    r.raise_for_status()
    body = r.json()
    return body.get("token") or body.get("access_token")


def fetch(registry: str, repository: str, reference: str,
          auth: tuple[str, str] | None = None, timeout: float = 30) -> mf.Manifest:
    """GET /v2/<repository>/manifests/<reference>; an index resolves to linux/amd64."""
    how = reach(registry, _plain(registry))
    url = f"{how.scheme}://{registry}/v2/{repository}/manifests/{reference}"
    headers = {"Accept": mt.ACCEPT_ALL}
    r = requests.get(url, headers=headers, auth=auth, timeout=timeout, verify=how.verify)
    challenge = r.headers.get("WWW-Authenticate", "")
    if r.status_code == 401 and challenge.lower().startswith("bearer"):
        token = _bearer(challenge, auth, timeout)
        if token:
            r = requests.get(url, headers={**headers, "Authorization": f"Bearer {token}"},
                             timeout=timeout, verify=how.verify)
    r.raise_for_status()
    manifest = mf.parse(r.content, r.headers.get("Content-Type"))
    if manifest.is_index:
        entry = manifest.platform_manifest()
        return fetch(registry, repository, entry.digest, auth, timeout)
    return manifest
