"""Put a TLS lab's CA where the Docker Engine and podman/skopeo/buildah look, and take it away.

Why: docker and the containers tools verify a registry at `HOST:PORT` against the CAs in
`/etc/docker/certs.d/HOST:PORT/` and `/etc/containers/certs.d/HOST:PORT/` (containers-certs.d(5);
`~/.config/containers/certs.d` too for a user's own podman and skopeo). The file is scoped to
that one registry address, so trusting the lab's CA there trusts it for nothing else. Every
file written is recorded in the home's `tls/installed.json` with its digest, so `uninstall`
(a later `classroom leave`) removes exactly what was added and nothing a person changed since.
Where a folder is not writable, the one `sudo` command that would do it is returned instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from ... import config
from .layout import ALWAYS, TlsFiles

DOCKER = Path("/etc/docker/certs.d")
CONTAINERS = Path("/etc/containers/certs.d")
USER_CONTAINERS = Path("~/.config/containers/certs.d")  # rootless podman, skopeo as a user
FILE = "ca.crt"


@dataclass
class Outcome:
    """What `install` or `uninstall` did, and what is left for a person with sudo to run."""

    done: list[Path] = field(default_factory=list)  # written, or removed
    kept: list[Path] = field(default_factory=list)  # already there (install) / changed since (uninstall)
    sudo: str = ""  # the one command for the rest, "" if nothing is left

    def lines(self, verb: str) -> list[str]:
        out = [f"{verb} {p}" for p in self.done] + [f"left alone {p}" for p in self.kept]
        if self.sudo:
            out.append(f"not allowed here; run:\n  {self.sudo}")
        return out


def addresses(home: Path) -> list[str]:
    """`HOST:PORT` of every door of the home's lab (its port, each region's) under each name
    its certificate carries that docker would use as a folder name (not `::1`)."""
    state = json.loads((home / "lab.json").read_text())
    if not state.get("tls"):
        raise ValueError(f"the lab of {home} serves plain HTTP: start it with `labkit lab up --tls`")
    ports = [int(state["port"]), *_region_ports(home)]
    names = [h for h in state.get("tls_hosts", ALWAYS) if ":" not in h]
    return [f"{name}:{port}" for port in ports for name in names]


def install(home: Path, docker: Path = DOCKER, containers: Path = CONTAINERS,
            user_containers: Path = USER_CONTAINERS) -> Outcome:
    """The home's CA as `ca.crt` for each of its lab's addresses, for docker and for the
    containers tools; the containers' copy goes to the user's folder when the system's is not
    writable (no sudo needed for them)."""
    return install_ca(TlsFiles(home).ca_cert, addresses(home), home, docker, containers,
                      user_containers)


def install_ca(ca_file: Path, where: list[str], home: Path, docker: Path = DOCKER,
               containers: Path = CONTAINERS, user_containers: Path = USER_CONTAINERS
               ) -> Outcome:
    """`ca_file` as `ca.crt` for each `HOST:PORT` in `where` (a lab's doors, or a room's
    registry for a learner who joined it), recorded in `home` for `uninstall`."""
    ca = ca_file.read_bytes()
    outcome, record, refused = Outcome(), _read_record(home), []
    for address in where:
        for roots in ((docker,), (containers, user_containers.expanduser())):
            target = _install_one(ca, roots, address, record, outcome)
            if target is not None:
                refused.append(target)
    _write_record(home, record)
    if refused:
        src = shlex.quote(str(ca_file))
        outcome.sudo = "sudo sh -c " + shlex.quote(" && ".join(
            f"install -D -m 0644 {src} {shlex.quote(str(t))}" for t in refused))
    return outcome


def uninstall(home: Path) -> Outcome:
    """Remove what `install` wrote (a file changed since stays), and the folders it made once
    empty."""
    record, outcome, refused = _read_record(home), Outcome(), []
    for entry in list(record["files"]):
        path = Path(entry["path"])
        try:
            if _digest(path.read_bytes()) != entry["sha256"]:
                outcome.kept.append(path)
            else:
                path.unlink()
                outcome.done.append(path)
        except FileNotFoundError:
            pass
        except PermissionError:
            refused.append(path)
            continue
        record["files"].remove(entry)
    for folder in sorted(record["dirs"], key=lambda d: -len(d)):  # deepest first
        with contextlib.suppress(OSError):  # not empty, gone, or not ours to remove
            Path(folder).rmdir()
        if not Path(folder).exists():
            record["dirs"].remove(folder)
    _write_record(home, record)
    if refused:
        outcome.sudo = "sudo rm -f " + " ".join(shlex.quote(str(p)) for p in refused)
    return outcome


def _install_one(ca: bytes, roots: tuple[Path, ...], address: str, record: dict[str, list],
                 outcome: Outcome) -> Path | None:
    """`ca` into the first of `roots` that takes it; the first root's target if none does."""
    for root in roots:
        target = root / address / FILE
        try:
            if target.read_bytes() == ca:
                outcome.kept.append(target)
                return None
        except OSError:
            pass
        try:
            made = _make_dirs(target.parent)
            tmp = target.with_name(f".{FILE}.tmp")
            tmp.write_bytes(ca)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except OSError:
            continue
        record["dirs"] += [str(d) for d in made if str(d) not in record["dirs"]]
        record["files"] = [e for e in record["files"] if e["path"] != str(target)]
        record["files"].append({"path": str(target), "sha256": _digest(ca)})
        outcome.done.append(target)
        return None
    return roots[0] / address / FILE


def _make_dirs(folder: Path) -> list[Path]:
    """mkdir -p, returning the folders it made (outermost first), for the undo."""
    missing = [p for p in [folder, *folder.parents] if not p.exists()][::-1]
    for p in missing:
        p.mkdir(mode=0o755)
    return missing


def _region_ports(home: Path) -> list[int]:
    ports = []
    for door in [*home.glob(f"{config.REGIONS_FOLDER}/*/{config.DOOR_FILE}"),
                 *home.glob(f"{config.ACCOUNTS_FOLDER}/*/{config.REGIONS_FOLDER}/*/"
                            f"{config.DOOR_FILE}")]:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            ports.append(int(json.loads(door.read_text())["port"]))
    return sorted(set(ports))


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_record(home: Path) -> dict[str, list]:
    try:
        doc = json.loads(TlsFiles(home).installed.read_text())
        return {"files": list(doc["files"]), "dirs": list(doc["dirs"])}
    except (OSError, ValueError, KeyError, TypeError):
        return {"files": [], "dirs": []}


def _write_record(home: Path, record: dict[str, list]) -> None:
    path = TlsFiles(home).installed
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, path)
