"""Step checks: did the learner's command do what the step teaches? (Exercises: `checks`.)

Each check reads the real state (the registry, the local images, the lab's record of requests
since a mark taken before the command) and answers with one line saying what it found, or
raises `CheckFailed` saying what it found and what is missing; never a bare AssertionError.

A learner runs a notebook again, after other notebooks, after their own terminal work: a step
that is already done is a pass that says so ("already pushed: Layer already exists for all 3
layers: that is what a second push does"). What a check still requires is the step itself: a
push check fails when no push reached the lab after the mark, whatever the registry holds.
"""

from __future__ import annotations

import os
from typing import Any

from ..engines.report import EXISTS_LOCAL, EXISTS_REMOTE, MOUNTED, PULLED, PUSHED
from ..trace import reader
from ..trace.record import TraceRecord
from .verdicts import Checked, CheckFailed, need


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _names(c: Any) -> set[str]:
    return {r.name for r in c.target.repositories()}


def _local(c: Any) -> dict[str, str]:
    """Local image name -> image id (docker may spell Docker Hub names with docker.io/)."""
    return {i.ref.removeprefix("docker.io/library/").removeprefix("docker.io/"): i.id
            for i in c.engine.images()}


# --- 00 ------------------------------------------------------------------------------------------
def lab_ready(c: Any) -> Checked:
    """00: this kernel's `aws` and `docker` point at the lab, and the engine answers."""
    registry = os.environ.get("REGISTRY", "")
    need(registry == c.registry and "://" not in registry,
         f"REGISTRY is {registry!r} in this kernel, the lab's registry is {c.registry}: "
         "run the notebook's first cell again")
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    wanted = c.lab.endpoint_url if c.lab is not None else f"http://{c.registry}"
    need(endpoint == wanted, f"AWS_ENDPOINT_URL is {endpoint!r}, not the lab ({wanted}): run "
         "the notebook's first cell again")
    try:
        c.engine.images()
    except Exception as e:  # noqa: BLE001 - say what the engine answered
        raise CheckFailed(f"docker does not answer ({c.engine.name} engine): {e}") from None
    return Checked("aws and docker point at the lab")


# --- 01 ------------------------------------------------------------------------------------------
def repository_exists(c: Any, name: str) -> Checked:
    """01: the repository exists and its URI is the registry plus its name."""
    need(name in _names(c), f"the registry has no repository {name} (it has: "
         f"{', '.join(sorted(_names(c))) or 'none'}): run the create-repository cell above and "
         "read what it printed")
    repo = c.target.repository(name)
    need(repo.uri == f"{c.registry}/{name}", f"{name}'s URI is {repo.uri}, not "
         f"{c.registry}/{name}")
    tags = sorted({t for row in c.target.images(name) for t in row.tags})
    if not tags:
        return Checked(f"{name} exists and is empty; its URI is the registry plus its name")
    return Checked(f"{name} exists (created earlier) and already holds {', '.join(tags)}, pushed "
                   "in later steps; its URI is the registry plus its name")


# --- 02 ------------------------------------------------------------------------------------------
def logged_in(c: Any) -> Checked:
    """02: the registry challenged (401) and accepted AWS:<password> (200) since the notebook
    started, and docker's config holds a login for the lab (what the terminal reads too)."""
    from ..engines.dockerconfig import DockerConfig

    seen = {(r.status, r.auth) for r in c.trace(c.mark) if r.is_ping}  # GET /v2/, as recorded
    need((401, "none") in seen, "the lab saw no ping of the registry without credentials since this "
         "notebook's first cell: run the curl cell above")
    need((200, "basic") in seen, "the lab accepted no AWS:<password> at the registry's ping since this "
         "notebook's first cell: run the docker login cell, then the curl cell")
    need(DockerConfig().get(c.registry) is not None, f"docker's config holds no login for "
         f"{c.registry}: run the docker login cell above and read what it printed")
    return Checked("docker is logged in to the lab; the registry challenges, then accepts "
                   "AWS:<password>")


# --- 03 ------------------------------------------------------------------------------------------
def same_local_image(c: Any, source: str, name: str) -> Checked:
    """03: `name` is a second name of the local image `source` (the same image id)."""
    ids = _local(c)
    need(source in ids, f"no local image is called {source}: run the docker build cell above")
    need(name in ids, f"no local image is called {name}: run the docker tag cell above")
    need(ids[source] == ids[name], f"{name} is another image than {source} "
         f"({ids[name][-12:]} and {ids[source][-12:]}): tag {source} again")
    return Checked("two names, one image id: nothing was copied")


# --- 04, 05 --------------------------------------------------------------------------------------
def _manifest_puts(trace: list[TraceRecord], repository: str, tag: str) -> list[TraceRecord]:
    return [r for push in reader.pushes(trace, repository) for r in push.manifest_puts
            if r.reference == tag]


def pushed(c: Any, since: int, tag: str, shares_with: str | None = None,
           repository: str | None = None) -> Checked:
    """04, 05: a `docker push` of REPOSITORY:TAG reached the lab after mark `since`, the registry
    lists the tag, and each of its layers travelled or was already there. With `shares_with`
    (05: v1), the layers the two versions share must not have travelled again."""
    from . import observed

    repo = repository or c.repository
    trace = c.trace(since)
    puts = _manifest_puts(trace, repo, tag)
    need(bool(puts), f"the lab received no push of {repo}:{tag} after the mark "
         "(`mark = c.trace_mark()`): run the docker push cell, after the mark")
    need(any(r.ok for r in puts), f"the lab refused the push of {repo}:{tag} "
         f"(HTTP {puts[-1].status}): read the push cell's output")
    need(c.target.images(repo).tagged(tag) is not None,
         f"the registry lists no {tag} in {repo} any more: was it deleted since the push?")
    report = observed.push_report(c, c.uri(tag, repo), trace)
    layers = [x for x in report.layers if x.kind == "layer"]
    sent = [x for x in layers if x.status == PUSHED]
    mounted = [x for x in layers if x.status.startswith(MOUNTED)]
    there = [x for x in layers if x.status == EXISTS_REMOTE]
    shared: set[str] = set()
    if shares_with is not None:
        need(c.target.images(repo).tagged(shares_with) is not None,
             f"the registry has no {shares_with} in {repo} to compare {tag} with")
        shared = {b.digest for b in observed.image(c, repo, shares_with).layers}
        again = [x for x in sent if x.digest in shared]
        need(not again, f"{_plural(len(again), 'layer')} that {tag} shares with {shares_with} "
             "travelled again: the registry should have answered 'Layer already exists'")
    n = len(layers)
    if not sent and not mounted:
        return Checked(f"already pushed: Layer already exists for all {n} layers of {tag}, "
                       "that is what a second push does; its manifest went up again under "
                       f"the tag {tag}")
    parts = [f"{_plural(len(sent), 'new layer')} pushed"] if sent else []
    if mounted:
        parts.append(f"{_plural(len(mounted), 'layer')} mounted from another repository")
    if there:
        why = f" (shared with {shares_with})" if shared and all(x.digest in shared for x in there) else ""
        parts.append(f"{len(there)} already there{why}")
    tail = ""
    if shares_with is not None:
        tags = {t for row in c.target.images(repo) for t in row.tags}
        need({tag, shares_with} <= tags, f"{repo} should hold both {shares_with} and {tag}; "
             f"it holds {', '.join(sorted(tags)) or 'nothing'}")
        tail = f"; {shares_with} and {tag} side by side in {repo}"
    return Checked(f"{tag} is in the registry: {', '.join(parts)}, then its manifest under the "
                   f"tag {tag}{tail}")


# --- 05b -----------------------------------------------------------------------------------------
def lifecycle_applied(c: Any, repository: str, expired: str, kept: tuple[str, ...],
                      moving: tuple[str, str]) -> Checked:
    """05b: the policy expired `expired`, kept `kept`, and the moving tag (`moving[0]`) points at
    the same image as `moving[1]`."""
    need(repository in _names(c), f"there is no repository {repository}: run the "
         "create-repository cell at the top of this notebook")
    rows = c.target.images(repository)
    tags = {t for row in rows for t in row.tags}
    need(expired not in tags, f"{expired} is still in {repository} (tags: "
         f"{', '.join(sorted(tags))}): run the put-lifecycle-policy cell (it runs the policy)")
    missing = [t for t in (*kept, moving[0]) if t not in tags]
    need(not missing, f"{repository} lacks {', '.join(missing)} (it holds "
         f"{', '.join(sorted(tags)) or 'nothing'}): run the push cells above")
    need(rows.tagged(moving[0]).digest == rows.tagged(moving[1]).digest,
         f"{moving[0]} does not point at {moving[1]}'s image: push {moving[1]} as {moving[0]}")
    return Checked(f"{expired} expired by the lifecycle policy; {', '.join(kept)} and the moving "
                   f"{moving[0]} kept")


# --- 06 ------------------------------------------------------------------------------------------
def pulled(c: Any, since: int, tag: str, after: str, repository: str | None = None) -> Checked:
    """06: a pull of REPOSITORY:TAG reached the lab after mark `since`: challenged, manifest
    fetched, each blob it needed fetched through a redirect to storage, and the layers it
    shares with `after` (pulled just before) not downloaded again."""
    from . import observed
    from .views import pull_story

    repo = repository or c.repository
    trace = c.trace(since)
    manifests = [r for r in trace if r.is_manifest_read(repo) and r.ok]
    need(bool(manifests), f"the lab saw no pull of {repo}:{tag} after the mark "
         "(`mark = c.trace_mark()`): run the docker pull cell, after the mark")
    report = observed.pull_report(c, c.uri(tag, repo), trace)
    story = pull_story(trace, report)
    need(story.challenged, "the pull did not start with the registry's challenge (401 at /v2/)")
    need(story.redirected == story.from_storage == len(story.blobs_fetched),
         f"of {_plural(len(story.blobs_fetched), 'blob')} fetched, {story.redirected} were "
         f"redirected to storage and {story.from_storage} downloaded from there: each should be both")
    shared = {b.digest for b in observed.image(c, repo, after).layers}
    layers = [x for x in report.layers if x.kind == "layer"]
    again = [x for x in layers if x.status == PULLED and x.digest in shared]
    need(not again, f"{_plural(len(again), 'layer')} that {tag} shares with {after} "
         f"were downloaded again: was {after} removed between the two pulls?")
    new = [x for x in layers if x.status == PULLED]
    here = [x for x in layers if x.status == EXISTS_LOCAL]
    if not new:
        return Checked(f"{tag}: all {len(layers)} layers were already here (another local image "
                       "holds the new one too), nothing to download but the manifest")
    return Checked(f"{tag} needed {_plural(len(new), 'new layer')} (and its config); the "
                   f"{len(here)} it shares with {after} were already here")


# --- 07 ------------------------------------------------------------------------------------------
def cleaned_up(c: Any, name: str, removed: tuple[str, ...]) -> Checked:
    """07: the repository is deleted, and the local names the course gave are gone (`removed`:
    hello-app:v1, $REGISTRY/hello-app:v1, ...). Names of the learner's own are left alone."""
    need(name not in _names(c), f"{name} is still in the registry: run the delete-repository "
         "cell above and read what it printed")
    local = _local(c)
    wanted = [ref.replace("$REGISTRY", c.registry) for ref in removed]
    left = sorted(ref for ref in wanted if ref in local)
    need(not left, f"still here: {', '.join(left)}: run the docker image rm cell above")
    prefix = f"{c.registry}/{name}:"
    own = sorted(ref for ref in local if ref.startswith(prefix) and ref not in wanted)
    mine = f" (names of your own stay: {', '.join(own)})" if own else ""
    return Checked(f"{name} is gone, in the registry and here{mine}")


# --- 08 ------------------------------------------------------------------------------------------
ANOTHER_ACCOUNT = "another-account"  # a denial only a repository policy can lift (ECR's words)
MET = {  # what notebook 08 reproduces: (answer code, a fact that tells it apart) -> its words
    ("UNAUTHORIZED", "missing"): "no basic auth credentials",
    ("DENIED", "expired"): "an expired token",
    ("NAME_UNKNOWN", "repository"): "name unknown",
    ("TAG_INVALID", ""): "tag invalid",
    ("MANIFEST_UNKNOWN", "tag"): "manifest unknown",
    ("DENIED", ""): "not authorized",  # an identity policy lacks the action (no token fact)
    ("DENIED", "wrong-region"): "a token from another region",
    ("DENIED", ANOTHER_ACCOUNT): "another account's repository",
}


def failures_met(c: Any, fixed: dict[str, str]) -> Checked:
    """08: each error was met since the notebook started (the lab's record of its refusals),
    and each fix is in place: `fixed` maps `repository:tag` that must exist now to the error
    whose fix pushed it; docker is logged in to the lab again."""
    from ..engines.dockerconfig import DockerConfig

    met = set()
    for f in reader.failures(c.trace(c.mark)):
        fact = f.facts.get("authorization") or f.facts.get("missing") or (
            ANOTHER_ACCOUNT if "because no resource-based policy allows" in f.message else "")
        words = MET.get((f.code, fact if f.code != "TAG_INVALID" else ""))
        if words:
            met.add(words)
    missing = [w for w in MET.values() if w not in met]
    need(not missing, f"the lab refused {', '.join(sorted(met)) or 'nothing'} since this "
         f"notebook's first cell; not yet met: {', '.join(missing)}: run the cells above")
    need(DockerConfig().get(c.registry) is not None, f"docker's config holds no login for "
         f"{c.registry}: run the login cell of the last section again")
    for ref, why in fixed.items():
        repo, tag = ref.split(":", 1)
        held = {t for row in c.target.images(repo) for t in row.tags} if repo in _names(c) \
            else set()
        need(tag in held, f"{repo} holds no {tag}: the fix for {why} is not done yet")
    return Checked(f"met {_plural(len(MET), 'error')} ({', '.join(MET.values())}), each "
                   "explained by the lab and fixed")
