"""One table from a registry failure to the learner's next move, for both engines.

Docker's (or the registry's) own message stays as it is; this adds ONE short line: what to do,
the notebook that teaches it (a hint names a topic; the course's one table, `labkit.course.topics`,
says which notebook teaches it), and the command to type. `classify` reads the message text, so
the Docker Engine's errors, the built-in engine's and the `docker` CLI's all land in the same row.
"""

from __future__ import annotations

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
    ("bad-login", ("incorrect username or password", "unauthorized", "authentication required",
                   "401 unauthorized")),
    ("immutable", ("tag invalid", "cannot be overwritten because the repository is immutable")),
    ("no-repository", ("name unknown", "does not exist in the registry", "name_unknown",
                       "repositorynotfoundexception")),
    ("missing-tag", ("manifest unknown", "requested image not found", "manifest_unknown")),
    ("no-local-image", ("does not exist locally", "no such image", "reference does not exist",
                        "tag does not exist")),
    ("https", ("server gave http response to https client",)),
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


def hint(kind: str, repository: str = "", registry: str = "", action: str = "") -> Hint | None:
    """The one hint for a kind of failure (None for failures the course does not invite)."""
    repo = repository or "hello-app"
    login = for_registry(registry) if registry else ""
    if kind == "bad-login" and action != "login":
        kind = "no-login"  # a push or pull refused for credentials: log in (again)
    table = {
        "no-login": Hint("log in first", "authenticate", login),
        "bad-login": Hint("the registry refused the user name or password: the user is AWS, "
                          "the password a fresh get-login-password", "authenticate", login),
        "expired": Hint("the login expired (an ECR token lasts 12 h): log in again", "authenticate", login),
        "immutable": Hint(f"{repo} is IMMUTABLE, a pushed tag never moves: push under a new tag, "
                          "or make the repository MUTABLE", "immutable-tags",
                          f"aws ecr put-image-tag-mutability --repository-name {repo} "
                          "--image-tag-mutability MUTABLE"),
        "no-repository": Hint("create the repository first (ECR creates one on push only "
                              "under a CREATE_ON_PUSH creation template)", "create-repository",
                              f"aws ecr create-repository --repository-name {repo}"),
        "missing-tag": Hint("no such tag in the repository: list what it holds", "pull",
                            f"aws ecr describe-images --repository-name {repo}"),
        "no-local-image": Hint("build or tag the image first; `docker images` lists what is "
                               "there", "tag", f"docker tag hello-app:v1 {registry}/{repo}:v1"
                               if registry and action == "push" else ""),
        "https": Hint(f"list {registry or 'the registry'} under insecure-registries in the "
                      "Docker Engine's daemon.json (127.0.0.0/8 is insecure by default)"),
        "unreachable": Hint("nothing answers at the registry: is the lab running? Start it", None,
                            "labkit lab up"),
        "denied": Hint("the registry denied the request: log in again, to this registry", "authenticate",
                       login),
    }
    return table.get(kind)


def for_message(message: str, repository: str = "", registry: str = "", action: str = ""
                ) -> Hint | None:
    """classify() then hint(): the line to print under a failure's own message."""
    return hint(classify(message), repository, registry, action)
