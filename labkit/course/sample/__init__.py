"""The course's sample application and its base image, shipped with the kit (no network needed).

`hello-app` v1 and v2 are built `FROM` the kit's base (`BASE_REF`); they differ only in the
application layer (`app/`), so pushing v2 after v1 uploads exactly one layer. Both engines
build the same Dockerfiles.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ...engines.base import Engine, LocalImage

HERE = Path(__file__).resolve().parent
BASE_REF = "labkit/base:1.0"
APP_NAME = "hello-app"
VERSIONS = (1, 2)


def base_context() -> Path:
    """The base image's build context (a Dockerfile `FROM scratch` and two COPY layers)."""
    return HERE / "base"


def context(version: int) -> Path:
    """The build context of hello-app `version` (1 or 2)."""
    if version not in VERSIONS:
        raise ValueError(f"hello-app comes in versions {VERSIONS}, not {version!r}")
    path = HERE / APP_NAME / f"v{version}"
    program = path / "app" / "hello"
    if program.exists() and not program.stat().st_mode & 0o100:
        # an install that dropped the executable bit would change the layer's digest
        program.chmod(0o755)
    return path


ARM64_TAG = "v1-arm64"  # notebook 08: hello-app v1 built for linux/arm64


def arm64_context() -> Path:
    """hello-app v1 for linux/arm64 (`FROM scratch`: it needs no base image). Built with
    `docker build --platform linux/arm64`; on an amd64 machine it runs into `exec format
    error`, which is what notebook 08 shows."""
    path = HERE / "hello-arm64"
    program = path / "app" / "hello"
    if program.exists() and not program.stat().st_mode & 0o100:
        program.chmod(0o755)
    return path


def greeting(version: int) -> str:
    """What `docker run hello-app:v<version>` prints."""
    return f"Hello from hello-app v{version}"


def ensure_base(engine: Engine) -> LocalImage:
    """Build the base image into `engine` unless it is already there; return it."""
    for image in engine.images():
        if image.ref in (BASE_REF, f"docker.io/{BASE_REF}"):
            return image
    return engine.build(base_context(), BASE_REF)
