"""The Docker Engine's error texts, scrubbed of secrets, with the hints table's line (one table
for both engines: `labkit.engines.hints`).

Every message passes through `scrub` first, so a registry password never reaches an error.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from ..base import EngineError
from ..hints import for_message

START_DOCKER = ("start the Docker Engine (Linux: `sudo systemctl start docker`; macOS/Windows: "
                "open Docker Desktop), or use the daemonless engine: LABKIT_ENGINE=builtin")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every known secret (and its Basic-auth base64 forms) with ***."""
    for secret in secrets:
        if not secret:
            continue
        forms = {secret, base64.b64encode(f"AWS:{secret}".encode()).decode(),
                 base64.b64encode(secret.encode()).decode()}
        for form in forms:
            text = text.replace(form, "***")
    return text


def _repository(ref: str, registry: str) -> str:
    """`hello-app` out of `127.0.0.1:5400/hello-app:v1`."""
    name = ref[len(registry) + 1:] if registry and ref.startswith(registry + "/") else ref
    name = name.split("@", 1)[0]
    head, _, tail = name.rpartition(":")
    return head if head and "/" not in tail else name


def explain(message: str, action: str, ref: str = "", registry: str = "",
            secrets: Iterable[str] = ()) -> EngineError:
    """docker's message (scrubbed) with the hints table's one hint for it."""
    text = scrub(message.strip(), secrets)
    repo = _repository(ref, registry) if ref else ""
    found = for_message(text, repo, registry, action)
    if found is None:
        return EngineError(text)
    return EngineError(text, found.advice(), found.command)


def daemon_down(detail: str) -> EngineError:
    """The Docker Engine does not answer at all."""
    return EngineError(f"the Docker Engine does not answer ({detail.strip()})", START_DOCKER,
                       "docker info")
