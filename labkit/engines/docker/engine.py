"""The real Docker Engine through the `docker` SDK: the seed's steps, with reports and guidance.

Each call records the docker CLI command a learner would type (`report.command`, `last_command`).
Logins live where the docker CLI keeps them (`labkit.engines.dockerconfig`): `login()` writes
the config a terminal's `docker` reads, and pushes and pulls pass the stored credentials to the
daemon per call (docker-py's public `auth_config`), so a `docker login` typed in a terminal
serves this engine too, and the reverse.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import docker
import requests
from docker.auth import resolve_repository_name
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.utils import parse_repository_tag

from ...oci.digest import short
from ..base import Engine, EngineError, LocalImage
from ..dockerconfig import Credentials, DockerConfig
from ..progress import Progress
from ..report import EXISTS_LOCAL, EXISTS_REMOTE, PULLED, PUSHED, LayerOutcome, TransferReport
from . import manifest as docker_manifest
from .errors import START_DOCKER, daemon_down, explain
from .events import EventFold

_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)", re.IGNORECASE | re.MULTILINE)


def _split(ref: str) -> tuple[str, str]:
    """`repo`, `tag` (or digest) of a reference; latest when no tag is given."""
    repo, tag = parse_repository_tag(ref)
    return repo, tag or "latest"


class DockerEngine(Engine):
    """build, tag, login, push, pull, images, remove on the Docker Engine."""

    name = "docker"

    def __init__(self, client: docker.DockerClient | None = None, timeout: int = 600,
                 docker_config: str | Path | None = None, **_ignored: Any):
        """`docker_config`: the config.json holding logins (default: the docker CLI's own).
        `_ignored` takes the built-in engine's options (home, ...) so select() passes both."""
        try:
            self.client = client or docker.from_env(timeout=timeout)
            self.api = self.client.api
        except DockerException as e:
            raise daemon_down(str(e)) from None
        self.credentials = DockerConfig(Path(docker_config) if docker_config else None)
        self._passwords: set[str] = set()  # seen this session: scrubbed from every message
        self.last_command = ""

    # -- helpers --------------------------------------------------------------------------------

    def command(self, action: str, *args: str) -> str:
        self.last_command = super().command(action, *args)
        return self.last_command

    def _secrets(self) -> list[str]:
        return sorted(self._passwords)

    def _fail(self, e: Exception, action: str, ref: str = "", registry: str = "") -> EngineError:
        if isinstance(e, APIError):
            text = str(e.explanation or e)
        elif isinstance(e, requests.ConnectionError):
            return EngineError(f"the Docker Engine stopped answering during {action}",
                               START_DOCKER, "docker info")
        else:
            text = str(e)
        return explain(text, action, ref, registry, self._secrets())

    def _auth(self, registry: str) -> dict[str, str] | None:
        """The stored login for `registry` as docker-py's per-call `auth_config`."""
        creds = self._credentials(registry)
        if creds is None:
            return None
        return {"username": creds[0], "password": creds[1], "serveraddress": registry}

    def _credentials(self, registry: str) -> tuple[str, str] | None:
        """(user, password) from the docker config, or None if not logged in."""
        try:
            creds = self.credentials.get(registry)
        except Exception as e:  # noqa: BLE001 - a broken helper: say so, as docker does
            raise EngineError(str(e), "fix or remove credsStore in " + str(self.credentials.path)
                              ) from None
        if creds is None or not creds.username:
            return None
        self._passwords.add(creds.password)
        return creds.username, creds.password

    def _local(self, ref: str) -> LocalImage:
        try:
            info = self.api.inspect_image(ref)
        except ImageNotFound:
            raise explain(f"No such image: {ref}", "inspect", ref) from None
        except (APIError, requests.RequestException) as e:
            raise self._fail(e, "inspect", ref) from None
        return LocalImage(ref=ref, id=info["Id"], size=int(info.get("Size") or 0))

    # -- build and tag --------------------------------------------------------------------------

    def _check_bases(self, context: Path, dockerfile: str) -> None:
        """The legacy builder would pull a missing base from Docker Hub: refuse that up front."""
        try:
            text = (context / dockerfile).read_text()
        except OSError as e:
            raise EngineError(f"cannot read {context / dockerfile}: {e.strerror}",
                              "pass a directory that holds a Dockerfile") from None
        stages = set()
        for m in re.finditer(r"^\s*FROM\s+.*?\bAS\s+(\S+)", text, re.IGNORECASE | re.MULTILINE):
            stages.add(m.group(1).lower())
        for base in _FROM.findall(text):
            if base.lower() == "scratch" or base.lower() in stages or "$" in base:
                continue
            try:
                self.api.inspect_image(base)
            except ImageNotFound:
                raise EngineError(
                    f"the base image {base} is not in the Docker Engine",
                    "the kit never pulls from Docker Hub: build the base from the kit first, "
                    "labkit.course.sample.ensure_base(engine)",
                    self.command("build", "-t", base, "<kit>/sample/base")) from None

    def build(self, context: str | Path, tag: str, dockerfile: str = "Dockerfile") -> LocalImage:
        """`docker build -t tag context` (legacy builder, no network for RUN steps)."""
        ctx = Path(context)
        self.command("build", "-t", tag, str(ctx))
        self._check_bases(ctx, dockerfile)
        output: list[str] = []
        try:
            for event in self.api.build(path=str(ctx), tag=tag, dockerfile=dockerfile, rm=True,
                                        forcerm=True, pull=False, network_mode="none",
                                        decode=True):
                if "error" in event or "errorDetail" in event:
                    detail = (event.get("errorDetail") or {}).get("message") or event["error"]
                    tail = "".join(output[-6:]).strip()
                    raise EngineError(f"docker build failed: {detail}\n{tail}".strip(),
                                      "fix the Dockerfile step shown above",
                                      self.last_command)
                output.append(str(event.get("stream", "")))
        except (APIError, requests.RequestException) as e:
            raise self._fail(e, "build", tag) from None
        return self._local(tag)

    def tag(self, source: str, target: str) -> LocalImage:
        """`docker tag source target`: a second name for the same image, no bytes copied."""
        self.command("tag", source, target)
        repo, tag = _split(target)
        try:
            self.api.tag(source, repo, tag)
        except ImageNotFound:
            raise explain(f"No such image: {source}", "tag", source) from None
        except (APIError, requests.RequestException) as e:
            raise self._fail(e, "tag", target) from None
        return self._local(target)

    # -- registry -------------------------------------------------------------------------------

    def login(self, registry: str, username: str, password: str) -> str:
        """`docker login`: the daemon checks the credentials against the registry."""
        self.command("login", "--username", username, "--password-stdin", registry)
        try:
            answer = self.client.login(username=username, password=password, registry=registry,
                                       reauth=True)
        except (APIError, requests.RequestException) as e:
            raise explain(str(getattr(e, "explanation", None) or e), "login", "", registry,
                          [*self._secrets(), password]) from None
        self._passwords.add(password)
        self.credentials.save(registry, Credentials(username, password))
        return str(answer.get("Status") or "Login Succeeded")

    def logout(self, registry: str) -> None:
        """Forget the login for `registry` in the docker config (as `docker logout` does)."""
        self.credentials.erase(registry)

    def _stream(self, action: str, ref: str, repo: str, tag: str, registry: str,
                progress: bool) -> EventFold:
        """Run `docker push|pull` through the API and fold its event stream per layer."""
        fold = EventFold(Progress(progress))
        call = self.api.push if action == "push" else self.api.pull
        try:
            events = call(repo, tag=tag, stream=True, decode=True,
                          auth_config=self._auth(registry) or {})  # {}: no login, never
            # docker-py's in-process memory of an earlier login
            for event in events:
                fold.feed(event)
        except (APIError, requests.RequestException) as e:
            raise self._fail(e, action, ref, registry) from None
        finally:
            fold.close()
        if fold.error:
            raise explain(fold.error, action, ref, registry, self._secrets())
        return fold

    def push(self, ref: str, progress: bool = True) -> TransferReport:
        """`docker push ref`: only layers the registry lacks travel."""
        cmd = self.command("push", ref)
        repo, tag = _split(ref)
        registry, path = resolve_repository_name(repo)
        try:
            diff_ids = self.api.inspect_image(ref)["RootFS"]["Layers"]
        except ImageNotFound:
            raise explain(f"An image does not exist locally with the tag: {ref}", "push", ref,
                          registry) from None
        except (APIError, requests.RequestException) as e:
            raise self._fail(e, "push", ref, registry) from None
        start = time.monotonic()
        fold = self._stream("push", ref, repo, tag, registry, progress)
        report = TransferReport("push", ref, self.name, digest=fold.digest, command=cmd)
        layers = self._manifest_layers(registry, path, fold.digest or tag)
        for i, diff_id in enumerate(diff_ids):
            track = fold.layers.get(short(diff_id))
            status = track.status if track and track.final else EXISTS_REMOTE
            digest, size = layers[i] if i < len(layers) else (diff_id, track.total if track else 0)
            report.layers.append(LayerOutcome(digest, size, status,
                                              moved=size if status == PUSHED else 0))
        report.seconds = time.monotonic() - start
        return report

    def _manifest_layers(self, registry: str, path: str, reference: str) -> list[tuple[str, int]]:
        """(digest, size) of each layer as the registry holds them; [] if it cannot be read."""
        try:
            manifest = docker_manifest.fetch(registry, path, reference,
                                             self._credentials(registry))
        except (requests.RequestException, ValueError):
            return []
        return [(x.digest, x.size) for x in manifest.layers]

    def pull(self, ref: str, progress: bool = True) -> TransferReport:
        """`docker pull ref`: layers already in the engine are not downloaded again."""
        cmd = self.command("pull", ref)
        repo, tag = _split(ref)
        registry, path = resolve_repository_name(repo)
        start = time.monotonic()
        fold = self._stream("pull", ref, repo, tag, registry, progress)
        report = TransferReport("pull", ref, self.name, digest=fold.digest, command=cmd)
        layers = self._manifest_layers(registry, path, fold.digest or tag)
        if not layers:  # manifest unreadable: report what docker said, without sizes
            layers = [(f"sha256:{x.id}", x.total) for x in fold.layers.values()]
        for digest, size in layers:
            track = fold.layers.get(short(digest))
            status = track.status if track and track.final else EXISTS_LOCAL
            report.layers.append(LayerOutcome(digest, size, status,
                                              moved=size if status == PULLED else 0))
        report.seconds = time.monotonic() - start
        return report

    # -- local store ----------------------------------------------------------------------------

    def images(self) -> list[LocalImage]:
        """`docker images`: one row per repository:tag."""
        self.command("images")
        try:
            listed = self.api.images()
        except (APIError, requests.RequestException) as e:
            raise self._fail(e, "images") from None
        out = [LocalImage(ref=tag, id=img["Id"], size=int(img.get("Size") or 0))
               for img in listed for tag in (img.get("RepoTags") or [])
               if tag != "<none>:<none>"]
        return sorted(out, key=lambda x: x.ref)

    def remove(self, ref: str, force: bool = False) -> None:
        """`docker rmi ref`; an image that is already gone is fine (cells can be re-run)."""
        self.command("rmi", *(["--force"] if force else []), ref)
        try:
            self.api.remove_image(ref, force=force)
        except (ImageNotFound, NotFound):
            return
        except (APIError, requests.RequestException) as e:
            raise self._fail(e, "remove", ref) from None
