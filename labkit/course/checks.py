"""Self-checking exercises: each function looks at the real state (registry, engine, trace).
The step checks (`checks.pushed(...)`: did the step's command do its job) live in `stepchecks`
and are named here too, so a notebook imports one module.

A check answers with a one-line "correct" message, or says what is still missing, so a learner
can solve an exercise their own way (in the notebook or in a terminal) and still have it verified.

While an exercise is unsolved its check cell must not fail the notebook (a learner's "Run All",
nbval over the committed, unsolved notebooks): it *returns* a `NotYet` naming the missing part.
With LABKIT_SOLUTIONS=1 (`labkit course run --solutions`, which runs each folded solution
before its check) a check is strict and raises `CheckFailed` instead.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

from ..trace import reader
from ..trace import record as rec
from .stepchecks import (  # noqa: F401 - the step checks, called as checks.<name> in notebooks
    cleaned_up,
    failures_met,
    lab_ready,
    lifecycle_applied,
    logged_in,
    pulled,
    pushed,
    repository_exists,
    same_local_image,
)
from .verdicts import CheckFailed, NotYet, Passed, need


def strict() -> bool:
    """LABKIT_SOLUTIONS=1: the solutions ran, so an unmet check is a failure."""
    return os.environ.get("LABKIT_SOLUTIONS", "").strip().lower() in ("1", "true", "yes")


F = TypeVar("F", bound=Callable[..., Any])


def exercise(fn: F) -> F:
    """Make a check answer `NotYet` instead of raising, unless `strict()`."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Passed | NotYet:
        try:
            return fn(*args, **kwargs)
        except CheckFailed as e:
            if strict():
                raise
            return NotYet(str(e))

    return wrapper  # type: ignore[return-value]


@exercise
def registry_address(c: Any, answer: str | None) -> Passed:
    """00: the registry address docker logs in and pushes to (host:port, no scheme)."""
    answer = (answer or "").strip()
    need(bool(answer), "set `answer` to the registry address (host:port), then run this cell")
    need(not answer.startswith("http"), "docker names registries without http:// or https://")
    need(answer == c.registry, "not quite: look at `echo $REGISTRY`, or at a repository URI "
          "before the first '/'")
    return Passed("that is where `docker login` and `docker push` go")


@exercise
def repository_created(c: Any, name: str) -> Passed:
    """01: a repository `name` exists and is still empty."""
    names = {r.name: r for r in c.target.repositories()}
    need(name in names, f"there is no repository {name!r} yet (the registry has "
         f"{', '.join(sorted(names)) or 'none'})")
    need(c.target.images(name).rows == [], f"{name!r} should still be empty")
    return Passed(f"{name} exists, empty, one repository for one image ({names[name].uri})")


@exercise
def token_renewed(c: Any) -> Passed:
    """02: the registry refused an expired token (403), the lifetime is back, a login works.

    Read from the lab's trace since the notebook started, so it does not matter whether the
    old password was tried by `docker login`, `curl` or a push, in the notebook or a terminal.
    """
    records = c.trace(c.mark)
    refused = [r for r in records if r.reason is not None
               and r.reason.facts.get(rec.AUTHORIZATION) == "expired"]
    need(bool(refused), "no expired token was refused yet: make tokens short-lived, log in, "
          "wait until the token expires, then use that old password again")
    ttl = float(c.lab.status()["token_ttl"])
    need(ttl >= 3600, "set the token lifetime back: c.lab.set_token_ttl(43200)")
    after = [r for r in reader.ordered(records) if (r.time, r.seq) > (refused[-1].time,
                                                                     refused[-1].seq)
             and r.is_ping and r.ok]
    need(bool(after), "log in again (aws ecr get-login-password ... | docker login ...): "
          "no fresh login reached the registry after the refusal")
    return Passed("an expired token is refused (403 DENIED); a new login gets a fresh one")


@exercise
def same_image(c: Any, source: str, target_ref: str) -> Passed:
    """03: `target_ref` names the very same local image as `source` (a tag is just a name)."""
    imgs = {i.ref.removeprefix("docker.io/library/").removeprefix("docker.io/"): i
            for i in c.engine.images()}
    need(target_ref in imgs, f"no local image is called {target_ref!r} yet")
    need(source in imgs, f"{source!r} is not in the local store")
    need(imgs[source].id == imgs[target_ref].id, f"{target_ref} is not the same image as {source}")
    return Passed(f"{target_ref} and {source} are two names for one image (same id)")


def _same_digest(c: Any, tag: str, like: str, repository: str | None = None) -> str:
    repo = repository or c.repository
    got = c.target.images(repo).tagged(tag) if repo in {r.name for r in
                                                         c.target.repositories()} else None
    need(got is not None, f"the registry has no tag {tag!r} in {repo} yet: push it")
    ref = c.target.images(c.repository).tagged(like)
    need(ref is not None, f"the registry has no tag {like!r} in {c.repository}")
    need(got.digest == ref.digest, f"{repo}:{tag} points at another image than "
          f"{c.repository}:{like}")
    return f"{repo}:{tag} and {c.repository}:{like} are one image (same digest)"


@exercise
def same_digest(c: Any, tag: str, like: str, repository: str | None = None) -> Passed:
    """04: in the registry, `tag` points at the same manifest as `like`."""
    return Passed(_same_digest(c, tag, like, repository))


@exercise
def immutable_kept(c: Any, repository: str, tag: str, like: str) -> Passed:
    """05: the repository is IMMUTABLE, `tag` still holds what was pushed first (`like`), and
    an overwrite was really tried (the lab refused a manifest PUT under that tag)."""
    names = {r.name for r in c.target.repositories()}
    need(repository in names, f"there is no repository {repository!r} yet")
    need(c.target.repository(repository).immutable, f"{repository} is still MUTABLE")
    _same_digest(c, tag, like, repository)
    refused = [r for push in reader.pushes(c.trace(c.mark), repository) if tag in push.tags
               for r in push.refused if r.route == rec.MANIFEST]
    need(bool(refused), f"{tag} holds {like}; now tag another version as {tag} and push it: "
          "the registry must refuse it")
    return Passed(f"{repository} is IMMUTABLE, and {tag} still points at {like}: "
                  "the overwrite was refused")


@exercise
def terminal_pull(c: Any, since: int, repository: str, tag: str) -> Passed:
    """06: a pull of `repository:tag` reached the lab after `since` (typed in a terminal)."""
    # docker asks for the tag (GET, or HEAD and then GET by digest when it may have the image)
    got = [p for p in reader.pulls(c.trace(since), repository)
           if p.reference == tag and any(r.ok for r in p.manifest_reads)]
    need(bool(got), f"no pull of {repository}:{tag} reached the lab since the mark (the cell "
         "above the exercise's solution): pull it in a terminal, then run this cell again")
    return Passed(f"the lab saw your pull of {repository}:{tag}: the manifest and "
                  f"{len(got[-1].blob_fetches)} blob request(s)")


def cleanup_spared(c: Any, name: str, gone: list[str]) -> Passed:
    """07: clean-up removed the course's repositories and left `name` (not the course's)."""
    need(name not in gone, f"clean-up removed {name!r}, which the course did not make")
    names = {r.name for r in c.target.repositories()}
    need(name in names, f"{name!r} does not exist: create it with boto3 (no course tag) first")
    left = [r.name for r in c.target.course_repositories()]
    need(not left, f"course repositories are still there: {left}")
    return Passed(f"clean-up removed only what the course made; {name} is still there")


@exercise
def lifecycle_expired(c: Any, repository: str, tag: str) -> Passed:
    """05b: `tag` was pushed to `repository` (since the notebook started), the repository has a
    lifecycle policy, and the tag is gone: the policy expired it, nothing else was asked to."""
    names = {r.name for r in c.target.repositories()}
    need(repository in names, f"there is no repository {repository!r} yet")
    pushes = [p for p in reader.pushes(c.trace(c.mark), repository)
              if tag in p.tags and p.complete]
    need(bool(pushes), f"push an image to {repository} as {tag!r} first")
    try:
        c.target.ecr.get_lifecycle_policy(repositoryName=repository)
    except c.target.ecr.exceptions.LifecyclePolicyNotFoundException:
        raise CheckFailed(f"{repository} has no lifecycle policy yet: "
                          "aws ecr put-lifecycle-policy ...") from None
    tags = {t for row in c.target.images(repository) for t in row.tags}
    need(tag not in tags, f"{tag} is still in {repository}: has the lab's clock moved far "
          "enough (labkit lab clock advance 15d), and did the policy run (labkit lab lifecycle "
          "run)?")
    return Passed(f"the lifecycle policy expired {repository}:{tag} once it was old enough")


@exercise
def repositories_gone(c: Any, names: tuple[str, ...] | list[str]) -> Passed:
    """07: the repositories `names` were deleted."""
    left = sorted(set(names) & {r.name for r in c.target.repositories()})
    need(not left, "still there: " + ", ".join(left))
    return Passed("deleted: " + ", ".join(sorted(names)))


@exercise
def fixed_after_explain(c: Any, repository: str, tag: str) -> Passed:
    """08: a push to `repository` was refused because it did not exist, and after the fix the
    push went through (read from the lab's trace since the notebook started)."""
    refused = [f for f in reader.failures(c.trace(c.mark))
               if f.repository == repository and f.code == "NAME_UNKNOWN"]
    need(bool(refused), f"no push to {repository} was refused yet: tag hello-app:v1 for "
         f"{repository} and push it before anything else, and read what docker says")
    names = {r.name for r in c.target.repositories()}
    need(repository in names, f"{repository} does not exist yet: run `labkit explain` and do "
         "what its fix line says")
    tags = {t for row in c.target.images(repository) for t in row.tags}
    need(tag in tags, f"{repository} exists but holds no {tag} yet: push again")
    return Passed(f"refused (name unknown), explained, fixed: {repository}:{tag} is pushed")
