"""Why the lab refused a request, in a few lines: what was asked, what the lab answered, why,
and the ONE command that fixes it (`labkit explain`, and the course's failed `%%bash` cells).

It starts from the trace reader's `Failure` (the refusal as the lab recorded it, with its
facts: a token's issue time and lifetime, a manifest's missing layers, an immutable tag's
image) and adds what only the learner's side knows or what needs asking: the hosts docker's
config holds a login for, the repositories and tags that exist. Those come in `Lookups`, so this
module stays pure (no lab, no boto3, no docker config): the CLI and the notebooks fill them
from the running lab (labkit/course/explained.py), unit tests from recorded data.

The fixes follow the course: a misspelled repository gets "did you mean", never "create it"; an
immutable tag gets "push under a new tag", never "make the repository MUTABLE"; an identity
IAM does not allow gets the identity policy that allows it, never "log in again" (a fresh
token carries the same identity); a token from another region gets the login for the lab's.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..ecr.login import login_command
from ..engines.hints import did_you_mean
from . import record as rec
from .reader import Failure

LIST_REPOSITORIES = "aws ecr describe-repositories --query 'repositories[].repositoryName'"
ECR_TOKEN_LIFETIME = 12 * 3600
BASE_URL = "/v2/"  # the registry's base URL, for display (the record's route says it is one)

# ECR actions a push makes (a refusal of one of them is a refused push)
_PUSH_ACTIONS = {"BatchCheckLayerAvailability", "InitiateLayerUpload", "UploadLayerPart",
                 "CompleteLayerUpload", "PutImage"}
# what an identity policy grants for each (ECR's "Pushing an image" / "Pulling an image" IAM
# permissions, docs.aws.amazon.com/AmazonECR/latest/userguide/image-push-iam.html)
PUSH_GRANT = ("ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
              "ecr:CompleteLayerUpload", "ecr:PutImage")
PULL_GRANT = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")
# ECR's (IAM's) denial sentence: "User: ARN is not authorized to perform: ecr:X on resource: ARN
# because no identity-based policy allows the ecr:X action" (labkit/lab/access/messages.py)
_DENIAL = re.compile(r"User: (?P<principal>\S+) is not authorized to perform: (?P<action>\S+) "
                     r"on resource: (?P<resource>\S+?)(?: because (?P<because>.*))?$")


def _nothing(*_: Any) -> list[str]:
    return []


@dataclass
class Lookups:
    """What an explanation may look up beyond the trace, each a callable so that nothing is
    asked unless the case needs it (a missing tag asks for the tags, not the repositories)."""

    registry: str  # the lab's registry address (what docker pushes to): 127.0.0.1:5400
    region: str = "us-east-1"
    repositories: Callable[[], list[str]] = _nothing  # the names that exist
    tags: Callable[[str], list[str]] = _nothing  # a repository's tags
    # hosts docker's config holds a login for; None: unknown (explained from the lab's side, as
    # on the instructor's board: docker's config is on the learner's machine)
    logins: Callable[[], list[str]] | None = _nothing
    lifecycle: Callable[[str], bool] = lambda _name: False  # has a lifecycle policy

    @property
    def login(self) -> str:
        return login_command(self.region, self.registry)


@dataclass
class Explanation:
    """One refusal explained. `fix` is a command to type; `topic` names what the course
    teaches about it (labkit.errors.taught_in)."""

    failure: Failure
    case: str  # not-logged-in, bad-password, expired, no-repository, misspelled-repository, ...
    summary: str  # "a pull of helo-app:v1"
    asked: str
    answered: str
    why: list[str]
    fix: str
    topic: str | None = None
    suggestion: str | None = None  # the name meant, for a misspelling

    def lines(self) -> list[str]:
        out = [f"labkit explain: the lab refused {self.summary}",
               f"  asked     {self.asked}",
               f"  answered  {self.answered}"]
        out += [f"  {'why' if i == 0 else '':<9} {w}" for i, w in enumerate(self.why)]
        out.append(f"  fix       {self.fix}")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def to_dict(self) -> dict[str, Any]:
        return {"refused": True, "case": self.case, "summary": self.summary,
                "asked": self.asked, "answered": self.answered, "why": list(self.why),
                "fix": self.fix, "topic": self.topic, "suggestion": self.suggestion,
                "failure": self.failure.to_dict()}


NOTHING_REFUSED = "labkit explain: the lab refused nothing{since}: there is no failure to explain."


# -- what was asked ---------------------------------------------------------------------------
def _name(f: Failure) -> str:
    """`repo:tag`, `repo@sha256:...`, or the repository alone."""
    ref = f.reference or ""
    if not f.repository:
        return ref
    if not ref:
        return f.repository
    return f"{f.repository}{'@' if ref.startswith('sha256:') else ':'}{ref}"


def is_push(f: Failure) -> bool:
    return f.kind == rec.REGISTRY and (f.action in _PUSH_ACTIONS or f.method in rec.WRITES)


def summary(f: Failure) -> str:
    """What the learner was doing, in words: "a pull of hello-app:v1", "a push to hello-app"."""
    if f.kind == rec.API:
        return f"the ECR API call {f.action or f.route}" + (f" on {f.repository}" if f.repository
                                                             else "")
    if f.route == rec.BASE:
        return "the registry handshake (GET /v2/, the first request of a login, push or pull)"
    if is_push(f):
        return f"a push to {_name(f) if f.route == rec.MANIFEST else f.repository}"
    if f.route == rec.MANIFEST and f.method in ("GET", "HEAD"):
        return f"a pull of {_name(f)}"
    if f.route == rec.BLOB:
        return f"a layer download from {f.repository}"
    return f"a {f.method} {f.route or f.kind}" + (f" on {f.repository}" if f.repository else "")


def asked(f: Failure) -> str:
    """`docker: HEAD manifest hello-app:v1 (ecr:BatchGetImage)`: client, method, target, action."""
    if f.route == rec.BASE:
        sent = f.auth != rec.NO_AUTH
        what = BASE_URL + (" with credentials" if sent else " without credentials")
    elif f.kind == rec.API:
        what = f"{f.action or f.route}" + (f" {_name(f)}" if f.repository else "")
    else:
        target = _name(f) if f.route == rec.MANIFEST else (f.repository or "")
        if f.route == rec.BLOB and f.digest:
            target += f"@{f.digest[:19]}…"
        what = f"{f.route or f.kind} {target}".strip()
    action = f" (ecr:{f.action})" if f.action and f.kind != rec.API else ""
    return f"{f.client}: {f.method} {what}{action}"


def answered(f: Failure) -> str:
    code = f" {f.code}" if f.code else ""
    return f"{f.status}{code}: {f.message}" if f.message else f"{f.status}{code}"


# -- times -------------------------------------------------------------------------------------
def clock(epoch: float) -> str:
    """`14:03:07 UTC`: a time of day (the trace's times are the lab's epoch seconds)."""
    return _dt.datetime.fromtimestamp(epoch, _dt.UTC).strftime("%H:%M:%S UTC")


def duration(seconds: float) -> str:
    """`2 s`, `15 min`, `12 h`, `1 h 30 min`."""
    s = int(round(seconds))
    if s < 120:
        return f"{s} s"
    if s < 7200 and s % 3600:
        return f"{s // 60} min" + (f" {s % 60} s" if s % 60 else "")
    h, m = divmod(s // 60, 60)
    return f"{h} h" + (f" {m} min" if m else "")


# -- the cases ---------------------------------------------------------------------------------
def _next_tag(tag: str, existing: list[str]) -> str:
    """A tag not used yet, after `tag`'s fashion: v1 -> the first free vN; else TAG-2, -3..."""
    m = re.fullmatch(r"(.*?)(\d+)", tag)
    stem, n = (m.group(1), int(m.group(2))) if m else (f"{tag}-", 1)
    taken = set(existing) | {tag}
    while f"{stem}{n}" in taken:
        n += 1
    return f"{stem}{n}"


def _auth(f: Failure, look: Lookups) -> Explanation:
    how = f.facts.get(rec.AUTHORIZATION, "missing" if f.auth == rec.NO_AUTH else "invalid")
    if how == "expired":
        return _expired(f, look)
    if how == "wrong-region":
        return _wrong_region(f, look)
    if how == "invalid":
        why = ["the registry refused the user name and password sent: the user must be AWS and "
               "the password a token from get-login-password for this registry"]
        return _make(f, "bad-password", why, look.login, "authenticate")
    key = look.registry
    if look.logins is None:  # the learner's docker config is not here to read
        why = [f"the request came without credentials: docker holds no login for {key}, or the "
               "command named the registry another way (a login is per host:port)",
               "so it sent none, and the registry answered 401 with its challenge"]
        return _make(f, "not-logged-in", why, look.login, "authenticate")
    hosts = sorted(set(look.logins()))
    if key in hosts:  # a login docker did not send: usually a typo'd or other spelling of it
        why = [f"docker's config holds a login for {key}, but the request came without one: "
               "the command named the registry another way, or the login was removed meanwhile"]
    elif hosts:
        why = [f"docker has no login for {key}: its config holds logins for "
               f"{', '.join(hosts)} only", "a login is per registry address (host:port)"]
    else:
        why = [f"docker has no login for {key}: its config holds no registry login at all",
               "so it sent no credentials, and the registry answered 401 with its challenge"]
    return _make(f, "not-logged-in", why, look.login, "authenticate")


def _expired(f: Failure, look: Lookups) -> Explanation:
    issued = f.facts.get(rec.TOKEN_ISSUED)
    expires = f.facts.get(rec.TOKEN_EXPIRES)
    lifetime = f.facts.get(rec.TOKEN_LIFETIME)
    checked = f.facts.get(rec.TOKEN_CHECKED) or f.time
    if issued and expires:
        life = duration(lifetime if lifetime else expires - issued)
        why = [f"the password is a token issued at {clock(issued)} for {life} "
               f"(ECR's tokens last {duration(ECR_TOKEN_LIFETIME)}); it expired at {clock(expires)}, "
               f"before this request at {clock(checked)}"]
        ahead = round((checked - f.time) / 60) * 60  # whole minutes: `checked` is whole seconds
        if ahead > 0:  # `labkit lab clock advance --tokens` made time pass
            why.append(f"(the lab's token clock runs {duration(ahead)} ahead of this "
                       "machine's: `labkit lab clock advance --tokens` moved it)")
    else:
        why = ["the password is an authorization token past its expiry (ECR's last "
               f"{duration(ECR_TOKEN_LIFETIME)})"]
    why.append("docker keeps the old password until you log in again with a fresh one")
    ex = _make(f, "expired", why, look.login, "authenticate")
    # the same whichever request met it first (docker: the manifest; the built-in engine and
    # a login: the handshake); `asked` says which
    ex.summary = "a request with an expired token"
    return ex


def _wrong_region(f: Failure, look: Lookups) -> Explanation:
    region = f.facts.get(rec.TOKEN_REGION)
    issued = f"a token for {region} (get-login-password --region {region})" if region else \
        "a token issued for another region"
    why = [f"the password is {issued}; this registry is {look.region}'s",
           "an ECR token opens only the registry of the region that issued it: log in with a "
           f"token from {look.region}"]
    if f.route == rec.BASE and f.status == 400:
        why.append("docker login failed, so docker kept whatever login it held before")
    ex = _make(f, "wrong-region", why, look.login, "authenticate")
    ex.summary = "a request with another region's token" if f.route != rec.BASE else \
        "a login with another region's token"
    return ex


def _policy_target(principal: str) -> tuple[str, str] | None:
    """(`user`|`role`, its name) for the IAM entity whose policy grants `principal`'s
    permissions: a user's own, an assumed role's role."""
    m = re.fullmatch(r"arn:aws:(?:iam|sts)::\d{12}:(user|role|assumed-role)/(.+)", principal)
    if m is None:
        return None
    if m.group(1) == "assumed-role":  # arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
        return "role", m.group(2).split("/")[0]
    return m.group(1), m.group(2).rsplit("/", 1)[-1]  # a path (user/ci/NAME) ends in the name


def grant_command(principal: str, actions: tuple[str, ...], resource: str,
                  policy_name: str) -> str | None:
    """`aws iam put-user-policy ...` (or put-role-policy) granting `actions` on `resource`."""
    target = _policy_target(principal)
    if target is None:
        return None
    kind, name = target
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": list(actions), "Resource": resource}]}
    return (f"aws iam put-{kind}-policy --{kind}-name {name} --policy-name {policy_name} "
            f"--policy-document '{json.dumps(doc, separators=(',', ':'))}'")


def _denied(f: Failure, look: Lookups, m: re.Match[str]) -> Explanation:
    principal = f.principal or m.group("principal")
    action, resource = m.group("action"), m.group("resource")
    explicit = "explicit deny" in (m.group("because") or "")
    target = _policy_target(principal)
    who = target[1] if target else principal
    repo = f.repository or resource.rsplit("/", 1)[-1]
    push = is_push(f) or action.removeprefix("ecr:") in _PUSH_ACTIONS - {
        "BatchCheckLayerAvailability"}
    acting = "you called as" if f.kind == rec.API else "you are logged in as"
    why = [f"{acting} {who} ({principal}), and IAM does not allow {who} {action} on the "
           f"repository {repo}"]
    if explicit:
        why.append("a Deny statement names that action, and a Deny wins over any Allow: "
                   "remove it from the identity's policies")
        fix = f"aws iam list-user-policies --user-name {who}" if target and \
            target[0] == "user" else "labkit trace"
        return _make(f, "access-denied", why, fix, "permissions")
    verb = "push" if push else "pull"
    owner, caller_account = _account_of(resource), _account_of(principal)
    if owner and caller_account and owner != caller_account:
        return _cross_account(f, who, principal, owner, caller_account, repo, verb)
    token = "" if f.kind == rec.API else \
        f"the token carries {who}'s identity, so logging in again changes nothing; "
    why.append(f"no policy of {who}'s allows it: {token}grant the {verb} actions on {repo} "
               f"(run the fix as an identity that may change IAM: in the lab your default "
               f"one), then {verb} again")
    grant, name = (PUSH_GRANT, "ecr-push") if push else (PULL_GRANT, "ecr-pull")
    fix = grant_command(principal, grant, resource, name) or "labkit trace"
    ex = _make(f, "access-denied", why, fix, "permissions")
    ex.summary = f"{summary(f)} by {who}"
    return ex


def _account_of(arn: str) -> str | None:
    """The account an ARN names (arn:aws:ecr:REGION:ACCOUNT:..., arn:aws:iam::ACCOUNT:...)."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[0] == "arn" and parts[4].isdigit() else None


def _cross_account(f: Failure, who: str, principal: str, owner: str, caller: str, repo: str,
                   verb: str) -> Explanation:
    """Another account's repository: its repository policy must name the caller's account
    (AWS evaluates both sides; the caller's own policies are not enough)."""
    grant = PUSH_GRANT if verb == "push" else PULL_GRANT
    doc = {"Version": "2012-10-17", "Statement": [{
        "Sid": f"{verb.capitalize()}From{caller}", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{caller}:root"}, "Action": list(grant)}]}
    why = [f"{repo} belongs to account {owner}; you are {who} ({principal}) of account "
           f"{caller}", f"another account's repository opens only to those its repository "
           f"policy names: its owner must grant your account the {verb} actions (run the fix "
           f"as account {owner}, e.g. with the keys `labkit lab account create` printed), "
           f"then {verb} again"]
    fix = (f"aws ecr set-repository-policy --repository-name {repo} --policy-text "
           f"'{json.dumps(doc, separators=(',', ':'))}'")
    ex = _make(f, "cross-account-denied", why, fix, "permissions")
    ex.summary = f"{summary(f)} by {who}, in another account's repository"
    return ex


def _repository(f: Failure, look: Lookups) -> Explanation:
    name = f.repository or ""
    known = look.repositories()
    close = did_you_mean(name, known)
    ref = f.reference or "TAG"
    sep = "@" if ref.startswith("sha256:") else ":"
    if close is not None:
        why = [f"there is no repository {name} in this registry; did you mean `{close}`?"]
        if f.kind == rec.API:
            fix = f"aws ecr describe-repositories --repository-names {close}"
        elif is_push(f):
            fix = (f"docker tag {look.registry}/{name}{sep}{ref} {look.registry}/{close}{sep}{ref}"
                   f" && docker push {look.registry}/{close}{sep}{ref}")
        else:
            fix = f"docker pull {look.registry}/{close}{sep}{ref}"
        ex = _make(f, "misspelled-repository", why, fix, "create-repository")
        ex.suggestion = close
        return ex
    have = f"the repositories it has: {', '.join(sorted(known))}" if known else \
        "it has no repositories at all"
    if is_push(f):
        why = [f"there is no repository {name} in this registry ({have})",
               "ECR never creates a repository on push (unless a CREATE_ON_PUSH creation "
               "template covers the name): create it, then push again"]
        fix = f"aws ecr create-repository --repository-name {name}"
    else:
        why = [f"there is no repository {name} in this registry ({have})",
               "check the name: a pull never creates anything"]
        fix = LIST_REPOSITORIES
    return _make(f, "no-repository", why, fix, "create-repository")


def _image(f: Failure, look: Lookups) -> Explanation:
    name, ref = f.repository or "", f.reference or ""
    digest = ref.startswith("sha256:") or f.facts.get(rec.MISSING) == "digest"
    tags = sorted(look.tags(name)) if name else []
    what = f"no image with the digest {ref}" if digest else f"no tag {ref}"
    why = [f"{name} has {what}; the tags it holds: {', '.join(tags)}" if tags else
           f"{name} has {what}, and holds no tagged image at all"]
    gone = "a tag that existed before was deleted (batch-delete-image) or moved"
    if look.lifecycle(name):
        gone += ", or the repository's lifecycle policy expired its image"
    why.append(f"{gone}; docker says `manifest unknown`")
    close = None if digest else did_you_mean(ref, tags)
    if close is not None:
        why[0] += f"; did you mean `{close}`?"
        fix = f"docker pull {look.registry}/{name}:{close}"
    else:
        fix = f"aws ecr describe-images --repository-name {name}"
    ex = _make(f, "missing-digest" if digest else "missing-tag", why, fix, "pull")
    ex.suggestion = close
    return ex


def _immutable(f: Failure, look: Lookups) -> Explanation:
    name, tag = f.repository or "", f.reference or ""
    held = f.facts.get(rec.EXISTING_DIGEST)
    new = _next_tag(tag, look.tags(name) if name else [])
    why = [f"{name} is IMMUTABLE: its tag {tag} already names "
           + (f"the image {held[:19]}…" if held else "an image")
           + ", and a pushed tag never moves to another image",
           f"push this image under a new tag ({new} is free); {tag} keeps meaning what it meant"]
    src = f"{look.registry}/{name}:{tag}"
    fix = f"docker tag {src} {look.registry}/{name}:{new} && docker push {look.registry}/{name}:{new}"
    return _make(f, "immutable-tag", why, fix, "immutable-tags")


def _layers(f: Failure, look: Lookups) -> Explanation:
    missing = list(f.facts.get(rec.MISSING_BLOBS) or [])
    shown = ", ".join(d[:19] + "…" for d in missing[:3]) + (" …" if len(missing) > 3 else "")
    why = [f"the manifest names {len(missing) or 'some'} blob(s) {f.repository} does not hold"
           + (f": {shown}" if shown else ""),
           "a manifest is accepted only once the layers and config it references are pushed "
           "(docker push sends them first; a manifest copied alone fails so)"]
    ref = f.reference or "TAG"
    fix = f"docker push {look.registry}/{f.repository}:{ref}"
    return _make(f, "missing-layers", why, fix, "push")


def _generic(f: Failure, look: Lookups) -> Explanation:
    from ..engines import hints  # the one table from a message to a next move

    found = hints.for_message(f"{f.code} {f.message}", f.repository or "", look.registry,
                              "push" if is_push(f) else "pull", look.repositories()
                              if f.repository else ())
    why = [found.text] if found is not None else [
        f"the lab refused it with {f.code or f.status}: its message above says why"]
    fix = found.command if found is not None and found.command else "labkit trace"
    return _make(f, "other", why, fix, found.topic if found is not None else None)


def _make(f: Failure, case: str, why: list[str], fix: str, topic: str | None) -> Explanation:
    return Explanation(f, case, summary(f), asked(f), answered(f), why, fix, topic)


def explain(f: Failure, look: Lookups) -> Explanation:
    """The explanation of one refusal (see the module's docstring)."""
    if f.facts.get(rec.REGISTRY_HOST):  # another region's registry refused: its login, its fix
        look = dataclasses.replace(look, registry=str(f.facts[rec.REGISTRY_HOST]),
                                   region=str(f.facts.get(rec.REGISTRY_REGION) or look.region))
    code = f.code
    denial = _DENIAL.match(f.message) if code in ("DENIED", "AccessDeniedException") else None
    if denial is not None and not f.facts.get(rec.AUTHORIZATION):
        return _denied(f, look, denial)
    if f.facts.get(rec.AUTHORIZATION) or code == "UNAUTHORIZED" or (
            f.status == 401 and f.kind == rec.REGISTRY):
        return _auth(f, look)
    if code in ("NAME_UNKNOWN", "RepositoryNotFoundException") or \
            f.facts.get(rec.MISSING) == "repository":
        return _repository(f, look)
    if code in ("TAG_INVALID", "ImageTagAlreadyExistsException") and (
            rec.EXISTING_DIGEST in f.facts or "immutable" in f.message):
        return _immutable(f, look)
    if code in ("MANIFEST_UNKNOWN", "ImageNotFoundException") or \
            f.facts.get(rec.MISSING) in ("tag", "digest"):
        return _image(f, look)
    if f.facts.get(rec.MISSING_BLOBS) or code == "LayersNotFoundException":
        return _layers(f, look)
    if code == "RepositoryAlreadyExistsException":
        why = [f"{f.repository} exists already: ECR creates a repository once; there is "
               "nothing to do"]
        return _make(f, "repository-exists", why,
                     f"aws ecr describe-repositories --repository-names {f.repository}",
                     "create-repository")
    return _generic(f, look)


__all__ = ["PULL_GRANT", "PUSH_GRANT", "Explanation", "Lookups", "NOTHING_REFUSED", "asked",
           "clock", "duration", "explain", "grant_command", "summary"]
