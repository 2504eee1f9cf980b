"""The Docker Engine's error texts turned into guidance tied to the course's steps.

Every message passes through `scrub` first, so a registry password never reaches an error.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from ... import config
from ..base import EngineError

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


def login_command(registry: str) -> str:
    return (f"aws ecr get-login-password --region {config.region()} | "
            f"docker login --username AWS --password-stdin {registry}")


def _repository(ref: str, registry: str) -> str:
    """`hello-app` out of `127.0.0.1:5400/hello-app:v1`."""
    name = ref[len(registry) + 1:] if registry and ref.startswith(registry + "/") else ref
    name = name.split("@", 1)[0]
    head, _, tail = name.rpartition(":")
    return head if head and "/" not in tail else name


def explain(message: str, action: str, ref: str = "", registry: str = "",
            secrets: Iterable[str] = ()) -> EngineError:
    """One EngineError with a hint and a command for a docker failure during `action`."""
    text = scrub(message.strip(), secrets)
    low = text.lower()
    repo = _repository(ref, registry) if ref else "NAME"

    def err(hint: str, command: str = "") -> EngineError:
        return EngineError(text, hint, command)

    if "expired" in low and ("token" in low or "authoriz" in low):
        return err("the registry password (an ECR authorization token) has expired: log in "
                   "again (step 2), target.login(engine)", login_command(registry))
    if "no basic auth credentials" in low or (
            action != "login" and ("authentication required" in low or "unauthorized" in low)):
        return err("log in first: step 2, target.login(engine)", login_command(registry))
    if action == "login" and any(s in low for s in ("unauthorized", "incorrect username",
                                                    "401", "authentication")):
        return err("the registry refused the username or password: ECR's username is always "
                   "AWS and the password comes from GetAuthorizationToken; fetch a fresh one",
                   login_command(registry))
    if "tag invalid" in low or ("immutable" in low and "tag" in low):
        return err(f"the repository {repo} is IMMUTABLE: a pushed tag can never point at "
                   "another image. Push under a new tag (for example v2), or make the "
                   f"repository MUTABLE: target.set_immutable({repo!r}, False)",
                   f"aws ecr put-image-tag-mutability --repository-name {repo} "
                   "--image-tag-mutability MUTABLE")
    if any(s in low for s in ("name unknown", "does not exist in the registry",
                              "repository does not exist", "name_unknown")):
        return err(f"create the repository first: step 1, target.create_repository({repo!r}) "
                   "(ECR creates one on push only under a repository creation template "
                   "for CREATE_ON_PUSH)",
                   f"aws ecr create-repository --repository-name {repo}")
    if "manifest unknown" in low or ("manifest for" in low and "not found" in low):
        return err(f"the repository {repo} has no image with that tag: list what it holds "
                   f"with target.images({repo!r})",
                   f"aws ecr describe-images --repository-name {repo}")
    if "server gave http response to https client" in low:
        return err(f"the Docker Engine talks HTTPS to {registry}: list it under "
                   "insecure-registries in daemon.json (127.0.0.0/8 is insecure by default); "
                   "with Docker Desktop see the README's section on reaching the lab")
    if any(s in low for s in ("connection refused", "no such host", "i/o timeout",
                              "connection reset", "eof")):
        return err(f"nothing (or nothing stable) answers at {registry or 'the registry'}: is "
                   "the lab running? Start it, then try again", "labkit lab up")
    if "does not exist locally" in low or "no such image" in low:
        return err(f"there is no local image {ref}: build it (step 3) or tag it (step 4) first",
                   f"docker images {repo}")
    if "denied" in low:
        return err("the registry denied the request: your identity lacks permission for this "
                   "repository, or you logged in to another registry", login_command(registry))
    return EngineError(text)


def daemon_down(detail: str) -> EngineError:
    """The Docker Engine does not answer at all."""
    return EngineError(f"the Docker Engine does not answer ({detail.strip()})", START_DOCKER,
                       "docker info")
