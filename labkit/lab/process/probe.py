"""Ask the process a home's `lab.json` names whether it is that home's lab; ask it to stop.

A PID in `lab.json` proves nothing: after a crash or a reboot it may belong to any process,
and its port to another program or another home's lab. The lab is taken for this home's lab
only when it answers a fresh challenge with an HMAC made with the home's secret, for the home
and the PID that `lab.json` names. Plain `http.client`, imported only when there is a lab to
ask, so `labkit lab up|down|status` stay quick to start.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import pids
from .identity import SHUTDOWN, WHOAMI, read_secret


class Verdict(enum.Enum):
    ABSENT = "absent"    # no lab.json: no lab was started for this home, or it stopped cleanly
    PROVEN = "proven"    # this home's lab answers, with the PID lab.json names
    STALE = "stale"      # lab.json describes no lab of this home: safe to remove, never to signal
    UNSURE = "unsure"    # something alive did not answer in time: touch nothing


@dataclass
class Finding:
    verdict: Verdict
    state: dict[str, Any] | None = None
    reason: str = ""


def identify(home: Path, state_file: Path, timeout: float = 5.0) -> Finding:
    """What the lab.json of `home` describes, proved or disproved (see Verdict)."""
    try:
        raw = state_file.read_text()
    except FileNotFoundError:
        return Finding(Verdict.ABSENT)
    except OSError as e:
        return Finding(Verdict.UNSURE, None, f"cannot read {state_file}: {e}")
    try:
        state = json.loads(raw)
        pid, address = int(state["pid"]), str(state["registry"])
        ca = Path(state["ca"]) if state.get("tls") else None
    except (ValueError, KeyError, TypeError):
        return Finding(Verdict.STALE, None, f"{state_file} is not a lab's state file")
    if not pids.alive(pid):
        return Finding(Verdict.STALE, state, f"pid {pid} named in lab.json is not running")
    if ca is not None and not ca.is_file():  # a TLS lab cannot be asked without its CA
        return Finding(Verdict.UNSURE, state, f"lab.json names a TLS lab whose CA, {ca}, is "
                       f"missing: cannot ask pid {pid} whether it is this home's lab")
    # imported here, as http.client is: with no lab.json `labkit lab up` needs neither
    import hmac
    import secrets

    from ..auth.signing import Signer
    from .identity import whoami_proof

    secret = read_secret(home)
    if secret is None:
        return Finding(Verdict.STALE, state, f"{home} holds no secret.key, so no lab of this "
                       f"home is running (pid {pid} is some other process)")
    challenge = secrets.token_hex(16)
    try:
        status, doc = _call(address, "GET", f"{WHOAMI}?challenge={challenge}", None, timeout,
                            ca=ca)
    except ConnectionRefusedError:
        return Finding(Verdict.STALE, state, f"pid {pid} named in lab.json is another "
                       f"process: nothing listens on {address}")
    except TimeoutError:
        return Finding(Verdict.UNSURE, state, f"pid {pid} is running but {address} did not "
                       f"answer within {timeout:.0f}s (a busy lab, or something else)")
    except (OSError, _http_error(), ValueError) as e:
        return Finding(Verdict.STALE, state, f"pid {pid} named in lab.json is not this home's "
                       f"lab: {address} does not answer as a lab ({type(e).__name__})")
    if status != 200 or not isinstance(doc, dict):
        return Finding(Verdict.STALE, state, f"pid {pid} named in lab.json is not this home's "
                       f"lab: {address} answers {WHOAMI} with HTTP {status}")
    their_home, their_pid = str(doc.get("home")), doc.get("pid")
    expected = whoami_proof(Signer(secret), challenge, their_pid, their_home) \
        if isinstance(their_pid, int) else ""
    if their_home != str(home) or not hmac.compare_digest(expected, str(doc.get("proof"))):
        return Finding(Verdict.STALE, state, f"pid {pid} named in lab.json is not this home's "
                       f"lab: the lab at {address} serves another home ({their_home})")
    if their_pid != pid:
        return Finding(Verdict.UNSURE, state, f"this home's lab answers at {address} as pid "
                       f"{their_pid}, but lab.json names pid {pid}")
    return Finding(Verdict.PROVEN, state)


def ask_to_stop(home: Path, address: str, pid: int, timeout: float = 5.0,
                ca: Path | None = None) -> str | None:
    """POST the signed shutdown request (over HTTPS, verified with `ca`, for a TLS lab); None
    once the lab accepted it, else why not."""
    from ..auth.admin import authorization

    secret = read_secret(home)
    if secret is None:
        return f"{home} holds no secret.key to sign the request with"
    body = json.dumps({"pid": pid}).encode()
    headers = {"Content-Type": "application/json",
               "Authorization": authorization(secret, "POST", SHUTDOWN, "", body)}
    try:
        status, doc = _call(address, "POST", SHUTDOWN, body, timeout, headers, ca=ca)
    except (OSError, _http_error(), ValueError) as e:
        return f"{address} did not take the shutdown request ({type(e).__name__}: {e})"
    if status != 202:
        error = doc.get("error") if isinstance(doc, dict) else None
        return f"the lab refused to stop (HTTP {status}: {error})"
    return None


def _http_error() -> type[Exception]:
    import http.client

    return http.client.HTTPException


def _call(address: str, method: str, path: str, body: bytes | None, timeout: float,
          headers: dict[str, str] | None = None, ca: Path | None = None) -> tuple[int, Any]:
    """One request to the lab; over HTTPS verified against `ca` (a TLS lab's CA) when given."""
    # imported here: `labkit lab up` with no lab.json never talks HTTP, and its start counts
    import http.client

    host, _, port = address.rpartition(":")
    conn: http.client.HTTPConnection
    if ca is None:
        conn = http.client.HTTPConnection(host.strip("[]"), int(port), timeout=timeout)
    else:
        import ssl

        context = ssl.create_default_context(cafile=str(ca))
        conn = http.client.HTTPSConnection(host.strip("[]"), int(port), timeout=timeout,
                                           context=context)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        raw = resp.read(1 << 16)
    finally:
        conn.close()
    try:
        return resp.status, json.loads(raw or b"null")
    except ValueError:
        return resp.status, None
