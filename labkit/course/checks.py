"""Self-checking exercises: each function looks at the real state (registry, engine, trace).

A check passes quietly with a one-line "correct" message, or raises `CheckFailed` saying what is
still missing, so a learner can solve an exercise their own way and still have it verified.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..engines.report import PULLED, TransferReport


class CheckFailed(AssertionError):
    """The exercise is not solved yet; the message says what to look at."""


@dataclass(frozen=True)
class Passed:
    message: str

    def __repr__(self) -> str:
        return f"correct: {self.message}"

    def _repr_html_(self) -> str:
        import html

        return f"<b style='color:green'>&#10004; correct:</b> {html.escape(self.message)}"


def _need(ok: bool, message: str) -> None:
    if not ok:
        raise CheckFailed(message)


def registry_address(c: Any, answer: str) -> Passed:
    """00: the registry address docker logs in and pushes to (host:port, no scheme)."""
    answer = (answer or "").strip()
    _need(not answer.startswith("http"), "docker names registries without http:// or https://")
    _need(answer == c.registry, "not quite: look at the target's `registry`, or at the "
          "repository URI before the first '/'")
    return Passed("that is where `docker login` and `docker push` go")


def repository_created(c: Any, name: str) -> Passed:
    """01: a repository `name` exists and the course made it (so clean-up will remove it)."""
    names = {r.name: r for r in c.target.repositories()}
    _need(name in names, f"there is no repository {name!r} yet: c.target.create_repository(...)")
    course = {r.name for r in c.target.course_repositories()}
    _need(name in course, f"{name!r} exists but was not made through the course")
    _need(c.target.images(name).rows == [], f"{name!r} should still be empty")
    return Passed(f"{name} exists, empty, one repository for one image ({names[name].uri})")


def token_renewed(c: Any, refused: BaseException | None) -> Passed:
    """02: an expired token was refused, the lifetime is back to normal, and a login works."""
    _need(refused is not None, "nothing was refused yet: set a short TTL, log in, wait until the "
          "token expires, and use that old password again")
    text = str(refused).lower()
    _need(any(w in text for w in ("403", "denied", "expired", "forbidden")),
          f"that was refused for another reason: {str(refused).splitlines()[0]}")
    ttl = float(c.lab.status()["token_ttl"])
    _need(ttl >= 3600, "set the token lifetime back: c.lab.set_token_ttl(43200)")
    try:
        c.target.login(c.engine)
    except Exception as e:  # noqa: BLE001 - any failure means the learner is not logged in
        raise CheckFailed(f"a fresh login fails: {str(e).splitlines()[0]}") from None
    return Passed("an expired token is refused (403 DENIED); a new login gets a fresh one")


def same_image(c: Any, source: str, target_ref: str) -> Passed:
    """03: `target_ref` names the very same local image as `source` (a tag is just a name)."""
    imgs = {i.ref.removeprefix("docker.io/library/").removeprefix("docker.io/"): i
            for i in c.engine.images()}
    _need(target_ref in imgs, f"no local image is called {target_ref!r} yet: engine.tag(...)")
    _need(source in imgs, f"{source!r} is not in the local store")
    _need(imgs[source].id == imgs[target_ref].id, f"{target_ref} is not the same image as {source}")
    return Passed(f"{target_ref} and {source} are two names for one image (same id)")


def same_digest(c: Any, tag: str, like: str, repository: str | None = None) -> Passed:
    """04/05: in the registry, `tag` points at the same manifest as `like`."""
    repo = repository or c.repository
    images = c.target.images(repo)
    got = images.tagged(tag)
    _need(got is not None, f"the registry has no tag {tag!r} in {repo} yet: push it")
    ref = c.target.images(c.repository).tagged(like)
    _need(ref is not None, f"the registry has no tag {like!r} in {c.repository}")
    _need(got.digest == ref.digest, f"{repo}:{tag} points at another image than "
          f"{c.repository}:{like}")
    return Passed(f"{repo}:{tag} and {c.repository}:{like} are one image (same digest)")


def immutable_kept(c: Any, repository: str, tag: str, like: str) -> Passed:
    """05: the repository is IMMUTABLE and `tag` still holds what was pushed first (`like`)."""
    _need(c.target.repository(repository).immutable,
          f"{repository} is still MUTABLE: c.target.set_immutable({repository!r})")
    same_digest(c, tag, like, repository)
    return Passed(f"{repository} is IMMUTABLE, and {tag} still points at {like}: "
                  "the overwrite was refused")


def pull_prediction(report: TransferReport, answer: int) -> Passed:
    """06: the learner predicted how many layers the pull would download."""
    _need(report.action == "pull", "pass the report returned by engine.pull(...)")
    got = report.count(PULLED)
    _need(answer == got, f"the pull downloaded {got} layer(s), not {answer}: look at which "
          "layers said 'Already exists'")
    return Passed(f"{got} layer(s) downloaded; the rest were already here")


def cleanup_spared(c: Any, name: str, gone: list[str]) -> Passed:
    """07: clean-up removed the course's repositories and left `name` (not the course's)."""
    _need(name not in gone, f"clean-up removed {name!r}, which the course did not make")
    names = {r.name for r in c.target.repositories()}
    _need(name in names, f"{name!r} does not exist: create it with boto3 (no course tag) first")
    left = [r.name for r in c.target.course_repositories()]
    _need(not left, f"course repositories are still there: {left}")
    return Passed(f"clean-up removed only what the course made; {name} is still there")


def lifecycle_expired(c: Any, repository: str, gone: list[str], kept: list[str]) -> Passed:
    """05b: a lifecycle policy expired the images tagged `gone` and left those tagged `kept`."""
    images = c.target.images(repository)
    tags = {t for row in images for t in row.tags}
    still = [t for t in gone if t in tags]
    _need(not still, f"{', '.join(still)} still in {repository}: is the lifecycle policy put "
          "(aws ecr get-lifecycle-policy), has the lab's clock moved far enough "
          "(labkit lab clock show), and did it run (labkit lab lifecycle run)?")
    lost = [t for t in kept if t not in tags]
    _need(not lost, f"{', '.join(lost)} should have been kept in {repository}")
    return Passed(f"the lifecycle policy expired {', '.join(gone) or 'nothing'}"
                  + (f" and kept {', '.join(kept)}" if kept else ""))
