"""BuiltinEngine: the daemonless engine (no Docker needed), for hosted Jupyter and CI.

It keeps images in an OCI layout under the engine home, builds the Dockerfile subset
reproducibly, and pushes and pulls with its own registry client, reporting each layer in
docker's words.
"""

from __future__ import annotations

from pathlib import Path

from ..base import Engine, EngineError, LocalImage
from ..report import TransferReport
from . import builder, refs
from . import pull as _pull
from . import push as _push
from .auth import Credentials, CredentialStore, registry_key
from .client import RegistryClient
from .store import Store


class BuiltinEngine(Engine):
    """build, tag, login, push, pull, images, remove, with no daemon."""

    name = "builtin"

    def __init__(self, home: str | Path | None = None, chunk_size: int | None = None):
        self.store = Store(home)
        self.home = self.store.root
        self.credentials = CredentialStore(self.home / "auth.json")
        self.chunk_size = chunk_size or _push.CHUNK_SIZE

    def __repr__(self) -> str:
        return f"<BuiltinEngine engine='builtin' home={str(self.home)!r}>"

    def build(self, context: str | Path, tag: str, dockerfile: str = "Dockerfile"
              ) -> LocalImage:
        """Build `context` into the local store as `tag` (reproducible digests)."""
        return builder.build(context, refs.normalize(tag), self.store, dockerfile)

    def tag(self, source: str, target: str) -> LocalImage:
        """Give the image `source` a second name, as `docker tag` does (no bytes copied)."""
        image = self.store.resolve(source)
        name = refs.normalize(target)
        self.store.set_ref(name, image.descriptor)
        return self._local(name)

    def login(self, registry: str, username: str, password: str) -> str:
        """Check the credentials with GET /v2/ and keep them; returns "Login Succeeded"."""
        creds = Credentials(username, password)
        client = RegistryClient(registry, creds)
        try:
            client.ping()
        except EngineError as e:
            hint, command = e.hint, e.command
            if "unauthorized" in str(e.args[0]).lower():
                hint = ("check the user name (AWS for ECR) and the password: it must be a fresh "
                        "one from get-login-password, passed with --password-stdin")
            raise EngineError(f"login to {registry_key(registry)} failed: {e.args[0]}",
                              hint=hint, command=command) from None
        self.credentials.save(registry, creds)
        return "Login Succeeded"

    def logout(self, registry: str) -> str:
        self.credentials.erase(registry)
        return f"Removing login credentials for {registry_key(registry)}"

    def _client(self, ref: refs.Ref) -> RegistryClient:
        if not ref.registry:
            raise EngineError(
                f"{ref} names no registry, and the built-in engine never talks to Docker Hub",
                hint="tag the image with the registry address first: step 3 (tag)",
                command=self.command("tag", str(ref), f"<registry>/{ref.repository}:{ref.tag}"))
        return RegistryClient(ref.registry, self.credentials.get(ref.registry))

    def push(self, ref: str, progress: bool = True) -> TransferReport:
        """Upload the image like `docker push`: only layers the registry lacks travel."""
        parsed = refs.parse(ref)
        self.store.resolve(str(parsed))  # a clear "No such image" before any network
        return _push.push(self.store, self._client(parsed), parsed, progress, self.chunk_size)

    def pull(self, ref: str, progress: bool = True) -> TransferReport:
        """Download the image like `docker pull`: only layers the store lacks travel."""
        parsed = refs.parse(ref)
        return _pull.pull(self.store, self._client(parsed), parsed, progress)

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
