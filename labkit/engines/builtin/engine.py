"""BuiltinEngine: the daemonless engine (no Docker needed), for hosted Jupyter and CI.

It keeps images in an OCI layout under the engine home, builds the Dockerfile subset
reproducibly, and pushes and pulls with its own registry client, reporting each layer in
docker's words.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import taught_in
from ..base import Engine, EngineError, LocalImage
from ..report import TransferReport
from . import builder, refs
from .auth import Credentials, DockerConfig, registry_key
from .store import Store

if TYPE_CHECKING:  # the registry client (requests) loads only for commands that talk to one:
    # the built-in `docker tag`, `images` and `build` run dozens of times a notebook
    from . import pull as _pull
    from . import push as _push
    from .client import RegistryClient


class BuiltinEngine(Engine):
    """build, tag, login, push, pull, images, remove, with no daemon."""

    name = "builtin"

    def __init__(self, home: str | Path | None = None, chunk_size: int | None = None,
                 docker_config: str | Path | None = None, trust_home: Path | None = None):
        """`docker_config`: the config.json holding logins (default: where the docker CLI
        keeps them, $DOCKER_CONFIG/config.json or ~/.docker/config.json). `trust_home`: the
        labkit home whose TLS lab (or joined room) this engine trusts (default LABKIT_HOME's;
        labkit/engines/trust.py)."""
        self.store = Store(home)
        self.home = self.store.root
        self.credentials = DockerConfig(Path(docker_config) if docker_config else None)
        self.chunk_size = chunk_size  # None: push.CHUNK_SIZE
        self.trust_home = trust_home

    def __repr__(self) -> str:
        return f"<BuiltinEngine engine='builtin' home={str(self.home)!r}>"

    def build(self, context: str | Path, tag: str, dockerfile: str = "Dockerfile",
              platform: str = "linux/amd64") -> LocalImage:
        """Build `context` into the local store as `tag` (reproducible digests), for
        `platform` (linux/amd64, or linux/arm64: the builder runs nothing)."""
        return builder.build(context, refs.normalize(tag), self.store, dockerfile, platform)

    def tag(self, source: str, target: str) -> LocalImage:
        """Give the image `source` a second name, as `docker tag` does (no bytes copied)."""
        image = self.store.resolve(source)
        name = refs.normalize(target)
        self.store.set_ref(name, image.descriptor)
        return self._local(name)

    def login(self, registry: str, username: str, password: str) -> str:
        """Check the credentials with GET /v2/ and keep them in the docker config, where the
        docker CLI and later processes find them; returns "Login Succeeded"."""
        from .client import RegistryClient, guided

        creds = Credentials(username, password)
        client = RegistryClient(registry, creds, trust_home=self.trust_home)
        client.action = "login"
        try:
            client.ping()
        except EngineError:
            status = client.last_step.status if client.last_step else 0
            # 400: ECR's answer to another region's token (docker prints the status only)
            reason = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden"}.get(status)
            if reason is None:
                raise
            # docker's words: it shows the status only, not the registry's reason (an expired
            # token's "denied: Your authorization token has expired" shows on a push or pull)
            raise guided(f"login attempt to {client.base}/v2/ failed with status: "
                         f"{status} {reason}", registry=client.registry, action="login") from None
        self.credentials.save(registry, creds)
        return "Login Succeeded"

    def logout(self, registry: str) -> str:
        """Forget the login (in the docker config, for every process)."""
        self.credentials.erase(registry)
        return f"Removing login credentials for {registry_key(registry)}"

    def _client(self, ref: refs.Ref) -> RegistryClient:
        from .client import RegistryClient

        if not ref.registry:
            raise EngineError(
                f"{ref} names no registry, and the built-in engine never talks to Docker Hub",
                hint=f"tag the image with the registry address first (notebook {taught_in('tag')})",
                command=self.command("tag", str(ref), f"<registry>/{ref.repository}:{ref.tag}"))
        return RegistryClient(ref.registry, self.credentials.get(ref.registry),
                              trust_home=self.trust_home)

    def push(self, ref: str, progress: bool = True, notify: _push.Notify | None = None
             ) -> TransferReport:
        """Upload the image like `docker push`: only layers the registry lacks travel."""
        from . import push as _push

        parsed = refs.parse(ref)
        self.store.resolve(str(parsed))  # a clear "No such image" before any network
        return _push.push(self.store, self._client(parsed), parsed, progress,
                          self.chunk_size or _push.CHUNK_SIZE, notify)

    def pull(self, ref: str, progress: bool = True, notify: _pull.Notify | None = None
             ) -> TransferReport:
        """Download the image like `docker pull`: only layers the store lacks travel."""
        from . import pull as _pull

        parsed = refs.parse(ref)
        return _pull.pull(self.store, self._client(parsed), parsed, progress, notify)

    def images(self) -> list[LocalImage]:
        return self.store.images()

    def remove(self, ref: str, force: bool = False) -> None:
        """Forget a reference and delete blobs no other image uses (like `docker rmi`).

        An image that is already gone is fine, as with the Docker engine: cells can be re-run."""
        try:
            self.store.remove_ref(ref)
        except EngineError as e:
            if not str(e).startswith("No such image"):
                raise
            return
        self.store.gc()

    def _local(self, name: str) -> LocalImage:
        for image in self.images():
            if image.ref == name:
                return image
        raise EngineError(f"No such image: {name}")  # pragma: no cover - just written
