"""One table from a registry failure to the learner's next move, for both engines.

Docker's (or the registry's) own message stays as it is; this adds ONE short line: what to do,
the notebook that teaches it (a hint names a topic; the course's one table, `labkit.course.topics`,
says which notebook teaches it), and the command to type. `classify` reads the message text, so
the Docker Engine's errors, the built-in engine's and the `docker` CLI's all land in the same row.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from ..ecr.login import for_registry
from ..errors import taught_in


@dataclass(frozen=True)
class Hint:
    text: str  # what to do, short
    topic: str | None = None  # what the course teaches about it ("authenticate"): see taught_in
    command: str = ""  # what to type

    @property
    def notebook(self) -> str:
        return taught_in(self.topic)

    def line(self) -> str:
        """`hint: create the repository first (notebook 01-create-repository): aws ecr ...`"""
        where = f" (notebook {self.notebook})" if self.notebook else ""
        tail = f": {self.command}" if self.command else ""
        return f"hint: {self.text}{where}{tail}"

    def advice(self) -> str:
        """The hint without the command (GuidedError shows that on its own `try:` line)."""
        return f"{self.text} (notebook {self.notebook})" if self.notebook else self.text


# (kind, substrings of the lowercased message, any of which selects it); first match wins
_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("expired", ("token has expired", "token expired", "authorization token has expired",
                 "expired token", "token is expired")),
    ("no-login", ("no basic auth credentials",)),
    ("login-refused", ("failed with status: 403",)),
    ("bad-login", ("incorrect username or password", "unauthorized", "authentication required",
                   "401 unauthorized")),
    ("immutable", ("tag invalid", "cannot be overwritten because the repository is immutable")),
    ("no-repository", ("name unknown", "does not exist in the registry", "name_unknown",
                       "repositorynotfoundexception")),
    ("missing-tag", ("manifest unknown", "requested image not found", "manifest_unknown")),
    ("no-local-image", ("does not exist locally", "no such image", "reference does not exist",
                        "tag does not exist")),
    ("https", ("server gave http response to https client",)),
    ("untrusted", ("certificate signed by unknown authority", "certificate verify failed")),
    ("unreachable", ("connection refused", "no such host", "i/o timeout", "cannot reach",
                     "connection reset")),
    ("denied", ("denied",)),
)


def classify(message: str) -> str:
    """The kind of learner mistake a failure message shows, or "" if none."""
    low = message.lower()
    for kind, needles in _RULES:
        if any(n in low for n in needles):
            return kind
    return ""


def did_you_mean(name: str, known: Iterable[str]) -> str | None:
    """The existing name closest to a misspelled one ("helo-app" -> "hello-app"), if any.
    A name longer or shorter by more than two characters is another name, not a typo
    (`hello-app` is not a misspelled `hello-app-lifecycle`)."""
    others = [k for k in known if k and k != name and abs(len(k) - len(name)) <= 2]
    close = difflib.get_close_matches(name, others, n=1, cutoff=0.75)
    return close[0] if close else None


LIST_REPOSITORIES = "aws ecr describe-repositories --query 'repositories[].repositoryName'"


def _no_repository(repo: str, action: str, known: Iterable[str]) -> Hint:
    """A repository that does not exist. Creating it is the fix only for a push to a new name:
    a pull (or a describe, a delete) of a misspelled or deleted name never is."""
    named = f"the repository {repo} does not exist" if repo else "that repository does not exist"
    close = did_you_mean(repo, known) if repo else None
    if close is not None:
        return Hint(f"{named}: did you mean {close}? (the repositories this registry has: "
                    "describe-repositories)", "create-repository", LIST_REPOSITORIES)
    if action == "push":
        return Hint("create the repository first (ECR creates one on push only under a "
                    "CREATE_ON_PUSH creation template)", "create-repository",
                    f"aws ecr create-repository --repository-name {repo or 'NAME'}")
    return Hint(f"{named} in this registry: check the name against the ones it has",
                "create-repository", LIST_REPOSITORIES)


def hint(kind: str, repository: str = "", registry: str = "", action: str = "",
         known: Iterable[str] = ()) -> Hint | None:
    """The one hint for a kind of failure (None for failures the course does not invite).

    `known`: the repositories that exist, when the caller can list them ("did you mean")."""
    repo = repository or "hello-app"
    login = for_registry(registry) if registry else ""
    if kind == "bad-login" and action != "login":
        kind = "no-login"  # a push or pull refused for credentials: log in (again)
    if kind == "no-repository":
        return _no_repository(repository, action, known)
    where = f"{registry}/{repo}" if registry else repo
    table = {
        "no-login": Hint("log in first", "authenticate", login),
        "bad-login": Hint("the registry refused the user name or password: the user is AWS, "
                          "the password a fresh get-login-password", "authenticate", login),
        "expired": Hint("the login expired (an ECR token lasts 12 h): log in again", "authenticate", login),
        "login-refused": Hint("the registry refused this password (403): an expired one is "
                              "refused so; get a fresh one and log in", "authenticate", login),
        # never "make it MUTABLE": immutability is the point (notebook 05); a new tag is the fix
        "immutable": Hint(f"{repo} is IMMUTABLE: a tag that is pushed never moves to another "
                          "image; push this image under a new tag", "immutable-tags",
                          f"docker tag IMAGE {where}:NEW_TAG && docker push {where}:NEW_TAG"),
        "missing-tag": Hint("no such tag in the repository: list what it holds", "pull",
                            f"aws ecr describe-images --repository-name {repo}"),
        "no-local-image": Hint("build or tag the image first; `docker images` lists what is "
                               "there", "tag", f"docker tag hello-app:v1 {registry}/{repo}:v1"
                               if registry and action == "push" else ""),
        "https": Hint(f"list {registry or 'the registry'} under insecure-registries in the "
                      "Docker Engine's daemon.json (127.0.0.0/8 is insecure by default)"),
        "untrusted": Hint(f"{registry or 'the registry'} speaks TLS with a certificate "
                          "authority this client does not trust: for a TLS lab, `labkit lab "
                          "trust` (docker, podman, skopeo) and `eval \"$(labkit lab env)\"` "
                          "(AWS_CA_BUNDLE for aws)", None, "labkit lab trust"),
        "unreachable": Hint("nothing answers at the registry: is the lab running? Start it", None,
                            "labkit lab up"),
        "denied": Hint("the registry denied the request: log in again, to this registry", "authenticate",
                       login),
    }
    return table.get(kind)


def for_message(message: str, repository: str = "", registry: str = "", action: str = "",
                known: Iterable[str] = ()) -> Hint | None:
    """classify() then hint(): the line to print under a failure's own message."""
    return hint(classify(message), repository, registry, action, known)
