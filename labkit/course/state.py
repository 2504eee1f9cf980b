"""The course's state machine: `prepare("04-push")` brings the lab to what that step needs.

Each notebook's first code cell calls `prepare(step)`, so any notebook runs on its own, and
running the course in order costs nothing extra: every action is skipped when already done.
What `prepare` prints is the resulting state, never what it had to do, so outputs stay the same
whether a notebook runs alone or after the others.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import config
from ..trace.reader import ordered, settled
from ..trace.record import TraceRecord
from . import sample

NOTEBOOKS = (
    "00-setup",
    "01-create-repository",
    "02-authenticate",
    "03-tag",
    "04-push",
    "05-push-a-second-version",
    "05b-lifecycle-and-immutability",
    "06-pull",
    "07-clean-up",
    "08-when-things-go-wrong",
)
REPOSITORY = sample.APP_NAME  # one repository per image; versions are tags
LIFECYCLE_REPOSITORIES = ("hello-app-lifecycle", "hello-app-nightly")  # 05b's step, exercise
# made by exercise 01, exercise 05, and notebook 05b
EXERCISE_REPOSITORIES = ("notes-app", "hello-app-immutable", *LIFECYCLE_REPOSITORIES)
# made by notebook 08 (its sections, its exercise), and its stand-in for another host
TROUBLE_REPOSITORIES = ("hello-web", "hello-app-locked", "hello-app-arm64", "hello-worker")
LOCAL_VERSIONS = (*sample.VERSIONS, 3)  # 05b builds hello-app:v3 (v2 with one more label)
MIN_SANE_TTL = 60.0  # a shorter token TTL is a leftover of the expiry exercise


@dataclass
class Course:
    """What a notebook works with: the lab, the target (ECR API), the engine, and names."""

    step: str
    target: Any
    engine: Any
    lab: Any = None  # None on real AWS: no trace there
    repository: str = REPOSITORY
    ready: list[str] = field(default_factory=list)
    mark: int = 0  # the lab's trace position when the notebook started (checks read after it)
    env: dict[str, str] = field(default_factory=dict)  # what activate() exported

    @property
    def registry(self) -> str:
        return self.target.registry

    def uri(self, tag: str, repository: str | None = None) -> str:
        """`REGISTRY/hello-app:TAG`: the name that says where the image goes."""
        return self.target.uri(repository or self.repository, tag)

    def local(self, version: int) -> str:
        """The image's local name before tagging: `hello-app:v1`."""
        return f"{self.repository}:v{version}"

    def trace_mark(self) -> int:
        return self.lab.trace_mark() if self.lab is not None else 0

    def trace(self, since: int, timeout: float = 3.0) -> list[TraceRecord]:
        """The lab's record of requests after `since`, once it has settled, oldest first
        (read it with labkit.trace: pulls, pushes, failures).

        The lab records a request when its response closes, a moment after the client read
        the last byte, so read until two reads agree and every redirect has its download.
        """
        if self.lab is None:
            return []
        deadline = time.monotonic() + timeout
        last: list[TraceRecord] | None = None
        while True:
            records = self.lab.trace(since)
            done = last is not None and len(last) == len(records) and settled(records)
            if done or time.monotonic() > deadline:
                return ordered(records)  # in the order the requests were made
            last = records
            time.sleep(0.1)

    def context(self, version: int) -> Path:
        """The build context of hello-app `version` for this lab (see `context`)."""
        return context(version)

    def has_local(self, ref: str) -> bool:
        return has_local(self.engine, ref)

    def __repr__(self) -> str:
        lines = [f"ready for {self.step}:"] + [f"  - {x}" for x in self.ready]
        return "\n".join(lines)


def has_local(engine: Any, ref: str) -> bool:
    """Whether the engine's local store has `ref` (docker may spell it with docker.io/)."""
    names = {ref, f"docker.io/{ref}", f"docker.io/library/{ref}"}
    return any(img.ref in names for img in engine.images())


def index(step: str) -> int:
    """The position of `step` in the course ("04-push", or just its number "04", "05b")."""
    for i, name in enumerate(NOTEBOOKS):
        if step in (name, name.split("-", 1)[0]):
            return i
    raise ValueError(f"unknown course step {step!r}; steps are {', '.join(NOTEBOOKS)}")


def connect() -> tuple[Any, Any, Any]:
    """(lab or None, target, engine) for the current environment."""
    from ..ecr.target import connect as target_for
    from ..engines import select

    lab = None
    if (os.environ.get("LABKIT_TARGET") or "lab").strip().lower() != "aws":
        from ..lab import ensure
        from ..room.remote import room_lab

        lab = room_lab()  # a joined room's lab (labkit classroom join), else a local one
        if lab is None:
            lab = ensure()
            _sane_ttl(lab)
    target = target_for(lab=lab) if lab is not None else target_for()
    return lab, target, select()


def _sane_ttl(lab: Any) -> None:
    """Undo a forgotten short token TTL from the expiry exercise (02)."""
    try:
        ttl = float(lab.status().get("token_ttl", config.DEFAULT_TOKEN_TTL))
    except Exception:  # noqa: BLE001 - an old lab without status: leave it
        return
    if ttl < MIN_SANE_TTL:
        lab.set_token_ttl(config.DEFAULT_TOKEN_TTL)


def context(version: int) -> Path:
    """hello-app `version`'s build context, stamped with this lab home's id (app/BUILD).

    The Docker Engine shares layers across all of its images: an identical app layer left by
    an earlier run or another project would make a pull print "Already exists" where the
    course shows "Pull complete". The stamp makes the app layers this lab's own; v1 and v2
    still differ only in app/, and the base layers stay shared.
    """
    home = config.home()
    stamp = hashlib.sha256(str(home).encode()).hexdigest()[:16]
    dest = home / "course-build" / f"v{version}"
    if not (dest / "app" / "BUILD").exists():
        shutil.copytree(sample.context(version), dest, dirs_exist_ok=True)
        (dest / "app" / "BUILD").write_text(f"course build {stamp}\n")
    return dest


def build(c: Course, version: int) -> None:
    """Build hello-app `version` (and the kit's base image) from this lab's context.

    Always built, never "unless present": a `hello-app:v1` already on a shared Docker Engine
    may be another learner's or an earlier run's (other app layers); the rebuild is a cache
    hit when it is ours.
    """
    sample.ensure_base(c.engine)
    c.engine.build(context(version), c.local(version))


def push(c: Course, version: int, repository: str | None = None) -> None:
    """Tag and push hello-app `version` unless the registry already has that tag."""
    repo = repository or c.repository
    tag = f"v{version}"
    if c.target.images(repo).tagged(tag) is not None:
        return
    if not c.has_local(c.local(version)):
        build(c, version)
    c.engine.tag(c.local(version), c.uri(tag, repo))
    c.engine.push(c.uri(tag, repo), progress=False)


def prepare(step: str) -> Course:
    """Bring the lab to the state `step` starts from (idempotent) and return the course."""
    level = index(step)

    def after(name: str) -> bool:  # by name: a notebook inserted later shifts no setup
        return level >= index(name)

    lab, target, engine = connect()
    from .shell import activate

    c = Course(NOTEBOOKS[level], target, engine, lab)
    c.env = activate(lab, engine)
    from .bashcell import install

    install(c)  # %%bash cells: the command's output, and under a failure why, not a traceback
    c.mark = c.trace_mark()
    where = f"lab at {target.registry}" if lab is not None else f"AWS {target.region}"
    c.ready.append(f"target: {where}")
    if after("02"):
        target.create_repository(c.repository)
        c.ready.append(f"repository {c.repository} exists")
    if after("03"):
        target.login(engine)  # both engines keep it in the docker CLI's config: the next
        sample.ensure_base(engine)  # cell's `docker push` (and the terminal's) finds it
        c.ready.append(f"docker is logged in to {target.registry}")
        c.ready.append(f"the base image {sample.BASE_REF} is here")
    if after("04"):
        build(c, 1)
        c.engine.tag(c.local(1), c.uri("v1"))
        c.ready.append(f"{c.local(1)} is built and tagged {c.uri('v1')}")
    if after("05"):
        push(c, 1)
        c.ready.append(f"{c.uri('v1')} is pushed")
        c.engine.tag(c.local(1), c.uri("latest"))  # exercise 04's result
        if c.target.images(c.repository).tagged("latest") is None:
            c.engine.push(c.uri("latest"), progress=False)
        c.ready.append(f"{c.uri('latest')} is pushed (the same image as v1)")
    if after("05b"):
        build(c, 2)
        c.engine.tag(c.local(2), c.uri("v2"))
        push(c, 2)
        c.ready.append(f"{c.uri('v2')} is pushed")
    if level == index("05b"):  # this step makes them: from scratch, also when run again
        for name in LIFECYCLE_REPOSITORIES:
            target.delete_repository(name, missing_ok=True)
        c.ready.append(f"{' and '.join(LIFECYCLE_REPOSITORIES)} do not exist yet")
    if level == index("08"):  # this step makes them: from scratch, also when run again
        for name in TROUBLE_REPOSITORIES:
            target.delete_repository(name, missing_ok=True)
        c.ready.append(f"{', '.join(TROUBLE_REPOSITORIES)} do not exist yet")
        _forget_alias_login(target.registry)
    if level == index("07"):  # what 07 deletes (08, after it, makes its own)
        for name in EXERCISE_REPOSITORIES:
            target.create_repository(name, immutable=name.endswith("immutable"))
        c.ready.append("the exercise repositories exist: " + ", ".join(EXERCISE_REPOSITORIES))
    return c


def alias(registry: str) -> str:
    """The lab under another name (`localhost:PORT`): notebook 08's "logged in to another host"."""
    return registry.replace("127.0.0.1", "localhost", 1)


def _forget_alias_login(registry: str) -> None:
    from ..engines.dockerconfig import DockerConfig

    other = alias(registry)
    if other != registry:
        DockerConfig().erase(other)


def course_local_refs(c: Course) -> list[str]:
    """Every local image name the course gives: hello-app:vN and REGISTRY/REPO:TAG forms."""
    refs = [c.local(v) for v in LOCAL_VERSIONS]
    prefixes = [f"{c.registry}/{r}:" for r in (c.repository, *EXERCISE_REPOSITORIES)]
    refs += sorted(img.ref for img in c.engine.images()
                   if any(img.ref.startswith(p) for p in prefixes))
    return refs


def digest_refs(engine: Any, prefixes: tuple[str, ...]) -> list[str]:
    """`REGISTRY/REPO@sha256:...` names the Docker Engine keeps after a push or pull.

    A pushed image keeps such a name when its tag moves to another image (exercise 05), and
    it holds the image's layers, so a later pull would say "Already exists". `images()` lists
    tags only, so ask the Docker API directly; the built-in engine keeps no such names.
    """
    api = getattr(engine, "api", None)
    if api is None:
        return []
    out = []
    for img in api.images():
        out += [d for d in (img.get("RepoDigests") or []) if d.startswith(prefixes)]
    return sorted(set(out))


def registry_refs(engine: Any, registry: str) -> list[str]:
    """Every local name (tags and digest names) that points into `registry`."""
    tags = [img.ref for img in engine.images() if img.ref.startswith(f"{registry}/")]
    return sorted(tags) + digest_refs(engine, (f"{registry}/",))


def clean_local(c: Course, base: bool = True) -> list[str]:
    """Remove the local images the course made (and the kit's base image); return their names."""
    gone = []
    refs = course_local_refs(c) + ([sample.BASE_REF] if base else [])
    for ref in refs:
        if c.has_local(ref):
            c.engine.remove(ref)
            gone.append(ref)
    prefixes = tuple(f"{c.registry}/{r}@" for r in (c.repository, *EXERCISE_REPOSITORIES))
    for ref in digest_refs(c.engine, prefixes):
        c.engine.remove(ref)
    return gone
