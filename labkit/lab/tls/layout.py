"""Where a lab home keeps its TLS files, and whether the lab serves TLS (kept across restarts).

    HOME/tls/              0755  what clients may read
      ca.crt               0644  the CA's certificate: AWS_CA_BUNDLE, `--cert-dir HOME/tls`
      tls.json                   the choice: {"enabled": true, "hosts": ["10.0.0.5", ...]}
      installed.json             what `labkit lab trust` wrote (so it can be undone)
      private/             0700  owner only
        ca.key, server.key 0600  PKCS#8 keys (what granian reads)
        server.crt               the server certificate (clients hold the CA)

Why `ca.crt` alone at the top: skopeo, podman and buildah read every `*.crt` of a `--cert-dir`
as a CA, so `--cert-dir HOME/tls` must find the CA and nothing else there.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ... import config

ALWAYS = ("127.0.0.1", "::1", "localhost")  # every TLS lab's certificate names these
CHOICE_FILE = "tls.json"
INSTALLED_FILE = "installed.json"


@dataclass(frozen=True)
class TlsFiles:
    """The TLS files of one lab home."""

    home: Path

    @property
    def folder(self) -> Path:
        return self.home / config.TLS_FOLDER

    @property
    def private(self) -> Path:
        return self.folder / "private"

    @property
    def ca_cert(self) -> Path:
        return self.folder / config.CA_FILE

    @property
    def ca_key(self) -> Path:
        return self.private / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.private / "server.crt"

    @property
    def server_key(self) -> Path:
        return self.private / "server.key"

    @property
    def choice(self) -> Path:
        return self.folder / CHOICE_FILE

    @property
    def installed(self) -> Path:
        return self.folder / INSTALLED_FILE


@dataclass(frozen=True)
class Choice:
    """Whether the lab serves HTTPS, and the host names or addresses (besides `ALWAYS`) its
    certificate must name: those a workshop room's learners use to reach it."""

    enabled: bool = False
    hosts: tuple[str, ...] = field(default_factory=tuple)

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the server certificate carries, `ALWAYS` first, without duplicates."""
        return tuple(dict.fromkeys([*ALWAYS, *self.hosts]))


def normal_host(host: str) -> str:
    """One spelling per host: an IP address in its compressed form, a name in lower case.
    ValueError for what can be neither (a certificate cannot name it)."""
    text = host.strip().strip("[]")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    name = text.lower().rstrip(".")
    labels = name.split(".")
    if not name or len(name) > 253 or not all(
            0 < len(label) <= 63 and label.replace("-", "").isalnum() and label.isascii()
            and not label.startswith("-") and not label.endswith("-") for label in labels):
        raise ValueError(f"{host!r} is not a host name or IP address a certificate can name")
    return name


def load_choice(home: Path) -> Choice:
    """The choice the last start of this home made (TLS off if none was ever made)."""
    try:
        doc = json.loads(TlsFiles(home).choice.read_text())
        return Choice(bool(doc["enabled"]), tuple(normal_host(h) for h in doc.get("hosts", [])))
    except (OSError, ValueError, KeyError, TypeError):
        return Choice()


def resolve(home: Path, enabled: bool | None, hosts: Iterable[str] | None,
            listen: str = config.DEFAULT_HOST) -> Choice:
    """The choice for this start: what was asked (None: what this home chose before), saved
    when it changed, so the next start keeps it (a plain lab that never asked writes nothing).
    A specific address the lab listens on is named too, for this start only (a room's lab
    started with `--host 10.0.0.5`); a wildcard one (0.0.0.0) names nothing."""
    before = load_choice(home)
    on = before.enabled if enabled is None else enabled
    names = before.hosts if hosts is None else tuple(normal_host(h) for h in hosts)
    kept = Choice(on, tuple(h for h in dict.fromkeys(names) if h not in ALWAYS))
    if kept != before:
        save_choice(home, kept)
    if on and listen not in ("", "0.0.0.0", "::") and normal_host(listen) not in kept.names:
        return Choice(on, (*kept.hosts, normal_host(listen)))
    return kept


def save_choice(home: Path, choice: Choice) -> None:
    files = TlsFiles(home)
    files.folder.mkdir(parents=True, exist_ok=True)
    tmp = files.choice.with_suffix(".tmp")
    tmp.write_text(json.dumps({"enabled": choice.enabled, "hosts": list(choice.hosts)}))
    os.replace(tmp, files.choice)
