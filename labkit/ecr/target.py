"""The course's target: the local lab (default) or real Amazon ECR (only with LABKIT_TARGET=aws).

Both paths run the same code; only the endpoint and the credentials differ. The lab's clients
are built from the lab's address and dummy keys alone, so nothing reaches AWS by accident.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from .. import config
from .errors import TargetError, translate
from .login import login_command
from .models import COURSE_TAG, ImageRow, ImageTable, Login, LoginCommand, Repository
from .sessions import LAB_CLIENT_CONFIG, aws_session, lab_session

__all__ = ["ImageTable", "Login", "LoginCommand", "Repository", "Target", "TargetError",
           "connect"]

T = TypeVar("T")


class LabLike(Protocol):
    """What the target needs from `labkit.lab.Lab`."""

    endpoint_url: str
    registry: str
    region: str
    account_id: str


class EngineLike(Protocol):
    def login(self, registry: str, username: str, password: str) -> str: ...


def connect(target: str | None = None, *, lab: LabLike | None = None,
            profile: str | None = None, region: str | None = None) -> Target:
    """The lab (started if needed) unless target="aws" or LABKIT_TARGET=aws."""
    choice = (target or os.environ.get("LABKIT_TARGET") or "lab").strip().lower()
    if choice == "aws":
        return Target.for_aws(profile=profile, region=region)
    if choice != "lab":
        raise ValueError(f"LABKIT_TARGET must be 'lab' or 'aws', not {choice!r}")
    if lab is None:
        from ..lab import ensure

        lab = ensure()
    return Target.for_lab(lab)


class Target:
    """One ECR registry (lab or AWS): repositories, images, login, cleanup."""

    def __init__(self, session: boto3.Session, kind: str, region: str,
                 endpoint_url: str | None = None, registry: str | None = None,
                 client_config: Any = None, verify: str | None = None):
        self.kind = kind  # "lab" or "aws"
        self.region = region
        self.endpoint_url = endpoint_url
        self.session = session
        self._registry = registry
        self.verify = verify  # a TLS lab's or room's CA file (None: the system's store)
        self.ecr = session.client("ecr", region_name=region, endpoint_url=endpoint_url,
                                  config=client_config, verify=verify)

    @classmethod
    def for_lab(cls, lab: LabLike) -> Target:
        env = lab.env() if hasattr(lab, "env") else {}
        if hasattr(lab, "session"):  # a joined room: the learner's own keys (its profile)
            session = lab.session()
        else:
            session = lab_session(lab.region, env.get("AWS_ACCESS_KEY_ID",
                                                      config.LAB_ACCESS_KEY),
                                  env.get("AWS_SECRET_ACCESS_KEY", config.LAB_SECRET_KEY))
        ca = getattr(lab, "ca_file", None)  # a TLS lab: verified against its own CA
        return cls(session, "lab", lab.region, endpoint_url=lab.endpoint_url,
                   registry=lab.registry, client_config=LAB_CLIENT_CONFIG,
                   verify=str(ca) if ca is not None else None)

    @classmethod
    def for_aws(cls, profile: str | None = None, region: str | None = None) -> Target:
        session = aws_session(profile, region or os.environ.get("LABKIT_REGION"))
        if not session.region_name:
            raise TargetError("no AWS region configured",
                              "set AWS_DEFAULT_REGION or LABKIT_REGION", "NoRegion")
        return cls(session, "aws", session.region_name)

    def __repr__(self) -> str:
        where = self.endpoint_url or "AWS"
        return f"<Target {self.kind} region={self.region} endpoint={where}>"

    # -- plumbing -------------------------------------------------------------------------------

    def _call(self, fn: Callable[[], T], name: str | None = None) -> T:
        try:
            return fn()
        except (ClientError, BotoCoreError) as e:
            raise translate(e, name, self.endpoint_url or "") from None

    def _pages(self, op: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        pages = self.ecr.get_paginator(op).paginate(**kwargs)
        yield from self._call(lambda: [x for page in pages for x in page[key]],
                              kwargs.get("repositoryName"))

    # -- registry address -----------------------------------------------------------------------

    @property
    def registry(self) -> str:
        """host[:port] of the registry, what `docker login` and image names use."""
        if self._registry is None:
            data = self._auth_data()
            self._registry = data["proxyEndpoint"].split("://", 1)[-1].rstrip("/")
        return self._registry

    def uri(self, name: str, tag: str = "latest") -> str:
        """`registry/name:tag` (or `@sha256:...` for a digest)."""
        sep = "@" if tag.startswith("sha256:") else ":"
        return f"{self.registry}/{name}{sep}{tag}"

    def login_command(self, region: str | None = None) -> LoginCommand:
        """The seed's login line (bash) and its PowerShell variant, for display."""
        region = region or self.region
        lab = self.kind == "lab"  # the lab's PowerShell line names AWS_ENDPOINT_URL
        return LoginCommand(login_command(region, self.registry, "bash", lab),
                            login_command(region, self.registry, "powershell", lab))

    # -- repositories ---------------------------------------------------------------------------

    def create_repository(self, name: str, immutable: bool = False,
                          scan_on_push: bool = False) -> Repository:
        """CreateRepository, tagged as the course's; an existing one is returned and reconciled."""
        try:
            got = self.ecr.create_repository(
                repositoryName=name,
                imageTagMutability="IMMUTABLE" if immutable else "MUTABLE",
                imageScanningConfiguration={"scanOnPush": scan_on_push},
                tags=[{"Key": COURSE_TAG[0], "Value": COURSE_TAG[1]}])
            return Repository.from_api(got["repository"], created=True)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "RepositoryAlreadyExistsException":
                raise translate(e, name, self.endpoint_url or "") from None
        except BotoCoreError as e:
            raise translate(e, name, self.endpoint_url or "") from None
        return self._reconcile(self.repository(name), immutable, scan_on_push)

    def _reconcile(self, repo: Repository, immutable: bool, scan_on_push: bool) -> Repository:
        notes = []
        if repo.immutable != immutable:
            self.set_immutable(repo.name, immutable)
            notes.append(f"tag mutability changed from {repo.mutability} to "
                         f"{'IMMUTABLE' if immutable else 'MUTABLE'}")
        if repo.scan_on_push != scan_on_push:
            self._call(lambda: self.ecr.put_image_scanning_configuration(
                repositoryName=repo.name,
                imageScanningConfiguration={"scanOnPush": scan_on_push}), repo.name)
            notes.append(f"scan on push changed to {scan_on_push}")
        if not self._is_course(repo.arn):
            notes.append("not created by the course: cleanup() will leave it alone")
        if not notes:
            return repo
        return Repository.from_api(self._describe(repo.name), note="; ".join(notes))

    def _describe(self, name: str) -> dict[str, Any]:
        got = self._call(lambda: self.ecr.describe_repositories(repositoryNames=[name]), name)
        return got["repositories"][0]

    def repository(self, name: str) -> Repository:
        return Repository.from_api(self._describe(name))

    def repositories(self) -> list[Repository]:
        return [Repository.from_api(d) for d in self._pages("describe_repositories",
                                                            "repositories")]

    def set_immutable(self, name: str, immutable: bool = True) -> Repository:
        """PutImageTagMutability: IMMUTABLE refuses to overwrite an existing tag."""
        self._call(lambda: self.ecr.put_image_tag_mutability(
            repositoryName=name,
            imageTagMutability="IMMUTABLE" if immutable else "MUTABLE"), name)
        return self.repository(name)

    def delete_repository(self, name: str, force: bool = True, missing_ok: bool = False) -> bool:
        """DeleteRepository (force: with its images). Returns False if it was not there."""
        try:
            self.ecr.delete_repository(repositoryName=name, force=force)
            return True
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code")
            if missing_ok and code == "RepositoryNotFoundException":
                return False
            raise translate(e, name, self.endpoint_url or "") from None
        except BotoCoreError as e:
            raise translate(e, name, self.endpoint_url or "") from None

    def _is_course(self, arn: str) -> bool:
        tags = self._call(lambda: self.ecr.list_tags_for_resource(resourceArn=arn))["tags"]
        return any((t.get("Key"), t.get("Value")) == COURSE_TAG for t in tags)

    def course_repositories(self) -> list[Repository]:
        """The repositories this course created (tagged labkit:course=true)."""
        return [r for r in self.repositories() if self._is_course(r.arn)]

    def cleanup(self) -> list[str]:
        """Delete exactly the repositories the course created (and their images)."""
        gone = []
        for repo in self.course_repositories():
            if self.delete_repository(repo.name, force=True, missing_ok=True):
                gone.append(repo.name)
        return gone

    # -- images and login -----------------------------------------------------------------------

    def images(self, name: str) -> ImageTable:
        """DescribeImages as a table: tags, digest, size, pushed at (oldest first)."""
        rows = [ImageRow.from_api(d) for d in self._pages("describe_images", "imageDetails",
                                                          repositoryName=name)]
        return ImageTable(name, rows)

    def _auth_data(self) -> dict[str, Any]:
        return self._call(lambda: self.ecr.get_authorization_token())["authorizationData"][0]

    def login(self, engine: EngineLike) -> Login:
        """GetAuthorizationToken, decode `AWS:<password>`, and log the engine in with it."""
        data = self._auth_data()
        with _secret_scope():
            user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        if self._registry is None:
            self._registry = data["proxyEndpoint"].split("://", 1)[-1].rstrip("/")
        message = engine.login(self.registry, user, password)
        return Login(self.registry, user, data.get("expiresAt"), password, message or "")


@contextmanager
def _secret_scope() -> Iterator[None]:
    """A malformed token must not leak into a traceback: re-raise without the value."""
    try:
        yield
    except (ValueError, UnicodeDecodeError):
        raise TargetError("the authorization token from GetAuthorizationToken is malformed",
                          "log in again; if it persists, restart the lab") from None
