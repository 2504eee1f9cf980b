"""How labkit's own registry clients reach a registry: over HTTP or HTTPS, and which certificate
authority verifies it.

Why: a TLS lab's certificate is signed by the CA the kit made for its home (labkit/lab/tls),
which no system trust store holds. The built-in engine and the manifest reader must verify it
against that CA with no system change (`verify=False` never), and must also honour what
`labkit lab trust`, or an administrator, put where docker and podman look. In order:
1. this LABKIT_HOME's lab, if the registry is one of its doors (its port, or a region's port
   kept in a door.json): HTTPS verified with its `tls/ca.crt` for a TLS lab, else plain HTTP;
2. a TLS room this home joined (`labkit classroom join`), for a registry on the room's host:
   HTTPS verified with the room's CA (no system change needed);
3. a CA in a certs.d folder for `HOST:PORT` (docker's and podman's layout): HTTPS with it;
4. docker's rule: loopback registries and LABKIT_INSECURE_REGISTRIES plain HTTP, any other
   HTTPS verified by the system's store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .. import config

# Where docker (the daemon) and podman/skopeo/buildah (containers-certs.d(5)) look for
# HOST:PORT/*.crt; the user's own folder last.
CERTS_DIRS = (Path("/etc/docker/certs.d"), Path("/etc/containers/certs.d"),
              Path("~/.config/containers/certs.d"))
_LOCAL = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class Reach:
    """`scheme` to use for the registry, and `verify` as requests takes it (a CA file, or True:
    the system's store)."""

    scheme: str
    verify: str | bool = True


def reach(registry: str, plain: bool, home: Path | None = None) -> Reach:
    """How to reach `registry` (`host:port`); `plain`: what docker's rule says without a CA
    (a loopback or configured insecure registry)."""
    lab = _lab_door(registry, home or config.home())
    if lab is not None:
        return lab
    room = _room_door(registry, home or config.home())
    if room is not None:
        return room
    found = certs_d_ca(registry)
    if found is not None:
        return Reach("https", str(found))
    return Reach("http" if plain else "https")


def certs_d_ca(registry: str, dirs: tuple[Path, ...] = CERTS_DIRS) -> Path | None:
    """The CA file a certs.d folder holds for `registry` (`ca.crt` first, else any `*.crt`)."""
    for root in dirs:
        folder = root.expanduser() / registry
        try:
            crts = sorted(folder.glob("*.crt"), key=lambda p: (p.name != "ca.crt", p.name))
        except OSError:
            continue
        if crts:
            return crts[0]
    return None


def _room_door(registry: str, home: Path) -> Reach | None:
    """A TLS room this home joined (`labkit classroom join`), if `registry` is on its host:
    HTTPS verified with the room's CA, fetched and checked by the join."""
    from ..room.joined import load

    joined = load(home)
    if joined is None or not joined.ca:
        return None
    if registry.rpartition(":")[0] != joined.registry.rpartition(":")[0]:
        return None
    return Reach("https", joined.ca)


def _lab_door(registry: str, home: Path) -> Reach | None:
    """How this home's running lab is reached, if `registry` is one of its doors."""
    try:
        state = json.loads((home / "lab.json").read_text())
        port = int(state["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    host, _, asked = registry.rpartition(":")
    host = host.strip("[]")
    if not asked.isdigit() or not (int(asked) == port or
                                   config.region_of_port(int(asked), home) is not None):
        return None
    ca = state.get("ca") if state.get("tls") else None
    if ca is None:
        return Reach("http") if host in _LOCAL or host == state.get("host") else None
    if host in _LOCAL or host in state.get("tls_hosts", ()):
        return Reach("https", str(ca))
    return None
