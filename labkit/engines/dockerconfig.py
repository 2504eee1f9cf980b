"""The docker CLI's own credentials file, read and written as docker does, so a login from a
notebook, from the built-in `docker` or from the real `docker login` is one login everywhere.

Where: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. What: `auths[registry].auth`
= base64 `user:password` (docker's plain store); or, when `credHelpers[registry]` or
`credsStore` names a helper, the `docker-credential-<helper>` program (`get`, `store`, `erase`
over stdin/stdout, docker's credential-helper protocol). Other keys in the file are kept.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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


class CredentialError(RuntimeError):
    """The config file or its credential helper failed; the message says which and why."""


def registry_key(registry: str) -> str:
    """`https://host:port/` -> `host:port`, the key docker files credentials under."""
    key = re.sub(r"^[a-z]+://", "", registry.strip()).rstrip("/")
    return key.split("/", 1)[0]


def config_dir() -> Path:
    """DOCKER_CONFIG, else ~/.docker (what the docker CLI uses)."""
    env = os.environ.get("DOCKER_CONFIG")
    return Path(env).expanduser() if env else Path.home() / ".docker"


def config_path() -> Path:
    return config_dir() / "config.json"


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text() or "{}")
    except FileNotFoundError:
        return {}
    except ValueError as e:
        raise CredentialError(f"{path} is not valid JSON ({e}); fix or remove it") from None
    return doc if isinstance(doc, dict) else {}


def _write(path: Path, doc: dict[str, Any]) -> None:
    """Atomically, mode 0600 (it holds passwords), keeping whatever else docker put there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config.json.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent="\t")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _helper(doc: dict[str, Any], key: str) -> str:
    helpers = doc.get("credHelpers")
    if isinstance(helpers, dict) and helpers.get(key):
        return str(helpers[key])
    return str(doc.get("credsStore") or "")


def _run_helper(helper: str, action: str, payload: str) -> str:
    program = f"docker-credential-{helper}"
    if shutil.which(program) is None:
        raise CredentialError(f"error getting credentials - err: exec: \"{program}\": "
                              "executable file not found in $PATH")
    done = subprocess.run([program, action], input=payload, capture_output=True, text=True,
                          timeout=60)
    if done.returncode != 0:
        out = (done.stdout or done.stderr).strip()
        if action == "get" and "credentials not found" in out.lower():
            return ""
        raise CredentialError(f"{program} {action} failed: {out}")
    return done.stdout


class DockerConfig:
    """Credentials for registries, in the docker CLI's config file (or its helper)."""

    def __init__(self, path: Path | None = None):
        """`path` defaults to where the docker CLI looks as of now (DOCKER_CONFIG or ~/.docker),
        fixed for this object's life, as a docker CLI process fixes it at start."""
        self.path = path or config_path()

    def __repr__(self) -> str:
        return f"<DockerConfig {self.path}>"

    def get(self, registry: str) -> Credentials | None:
        key = registry_key(registry)
        doc = _read(self.path)
        helper = _helper(doc, key)
        if helper:
            out = _run_helper(helper, "get", key)
            if not out.strip():
                return None
            got = json.loads(out)
            return Credentials(got.get("Username", ""), got.get("Secret", ""))
        auths = doc.get("auths") if isinstance(doc.get("auths"), dict) else {}
        entry = auths.get(key) or auths.get(f"https://{key}") or auths.get(f"http://{key}")
        if not isinstance(entry, dict) or not entry.get("auth"):
            return None
        try:
            user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        except ValueError:
            return None
        return Credentials(user, password)

    def hosts(self) -> list[str]:
        """The registries this config holds a login for (`host:port`, as docker files them):
        the `auths` keys (docker writes an empty entry there beside a credential helper's
        login too). What `labkit explain` lists for "logged in to another host". No password
        is read."""
        doc = _read(self.path)
        auths = doc.get("auths") if isinstance(doc.get("auths"), dict) else {}
        found = [registry_key(k) for k in auths]
        return sorted(dict.fromkeys(k for k in found if k))

    def save(self, registry: str, creds: Credentials) -> None:
        key = registry_key(registry)
        doc = _read(self.path)
        auths = doc.setdefault("auths", {})
        helper = _helper(doc, key)
        if helper:
            _run_helper(helper, "store", json.dumps(
                {"ServerURL": key, "Username": creds.username, "Secret": creds.password}))
            auths[key] = {}  # docker leaves an empty entry next to a helper's login
        else:
            raw = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
            auths[key] = {"auth": raw}
        _write(self.path, doc)

    def erase(self, registry: str) -> bool:
        """Forget the login; False if there was none."""
        key = registry_key(registry)
        doc = _read(self.path)
        helper = _helper(doc, key)
        had = False
        if helper:
            with contextlib.suppress(CredentialError):
                had = bool(_run_helper(helper, "get", key).strip())
                _run_helper(helper, "erase", key)
        auths = doc.get("auths") if isinstance(doc.get("auths"), dict) else {}
        if auths.pop(key, None) is not None:
            had = True
            _write(self.path, doc)
        return had
