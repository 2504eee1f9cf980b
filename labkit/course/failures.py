"""What a notebook says under a command that failed: "already done, going on", or why it failed.

A learner runs notebooks again, out of order, after their own terminal work. A command whose
failure only means its step is already done (`create-repository` of a repository that exists,
`delete-repository` of one that is gone, `docker image rm` of a name that is not here) is
reported as done and the cell goes on. Any other failure gets an explanation under the
command's own output.

Explanations come from `explainers`, a list of functions asked in order; each returns lines or
nothing. The lab's trace knows what it refused and why: an explainer that reads it (since the
mark taken before the cell ran, `Failure.since`) goes first with `register(fn, first=True)`.
The one here is the kit's hints table (`labkit.engines.hints`), read from the failure's text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..engines import hints


@dataclass
class Failure:
    """A command cell that ended with a non-zero exit status."""

    command: str  # the cell, as typed
    output: str  # what it printed (stdout and stderr)
    code: int
    course: Any = None  # the notebook's Course (its lab, target and registry), if any
    since: int | None = None  # the lab's trace mark taken just before the command ran


@dataclass
class Said:
    """What to print under the output; `done` means: the step was already done, go on."""

    done: bool
    lines: list[str] = field(default_factory=list)


Explainer = Callable[[Failure], list[str]]

# --- "already done" --------------------------------------------------------------------------
_AWS_ERROR = re.compile(r"An error occurred \((?P<code>\w+)\) when calling the (?P<op>\w+) "
                        r"operation: (?P<message>.*)")
_NO_IMAGE = re.compile(r"^Error(?: response from daemon)?: No such image: (?P<ref>\S+)\s*$")
_QUOTED = re.compile(r"'([^']+)'")
# a line that reports a failure (anything not recognised as "already done" makes the cell fail)
# ("does not exist": docker's "An image does not exist locally with the tag: ...", whose line
# may come before the push's "The push refers to repository [...]" line: two streams, two pumps)
_ERRORISH = re.compile(r"error|denied|unknown|refused|failed|not found|invalid|unauthori[sz]ed|"
                       r"expired|cannot|no such|does not exist|traceback|exception", re.I)


def _flat(command: str) -> str:
    """The cell with its line continuations joined: one command a line."""
    return command.replace("\\\n", " ")


def _option(command: str, op_word: str, name: str, option: str) -> str | None:
    """The value of `option` on the `op_word` command line that names `name`, if given."""
    for line in _flat(command).splitlines():
        if op_word in line and re.search(rf"--repository-name[ =]{re.escape(name)}(\s|$)", line):
            m = re.search(rf"{re.escape(option)}[ =](\S+)", line)
            return m.group(1).strip("'\"") if m else None
    return None


def _mutability(course: Any, name: str) -> str:
    """The repository's imageTagMutability as ECR reports it ("" if it cannot be read)."""
    try:
        out = course.target.ecr.describe_repositories(repositoryNames=[name])
        return str(out["repositories"][0].get("imageTagMutability", ""))
    except Exception:  # noqa: BLE001 - no answer: say nothing about it
        return ""


def _already(failure: Failure, line: str) -> str | None:
    """The "already done" sentence for one error line, or None if it reports a real failure."""
    m = _AWS_ERROR.search(line)
    if m:
        names = _QUOTED.findall(m.group("message"))
        name = names[0] if names else ""
        if m.group("code") == "RepositoryAlreadyExistsException" and name:
            wanted = _option(failure.command, "create-repository", name, "--image-tag-mutability")
            have = _mutability(failure.course, name) if wanted and failure.course else ""
            if wanted and have and wanted.upper() != have:
                return None  # it exists, but not as this command asks: not done
            return (f"already done: the repository {name} exists (created earlier; ECR refuses "
                    "to create it twice). Going on.")
        if m.group("code") == "RepositoryNotFoundException" and m.group("op") == "DeleteRepository":
            return f"already done: the repository {name} does not exist (deleted earlier). Going on."
        return None
    m = _NO_IMAGE.match(line.strip())
    if m and re.search(r"docker\s+(image\s+rm|rmi)\b", failure.command):
        return f"already done: no local image is called {m.group('ref')} (removed earlier). Going on."
    return None


def already_done(failure: Failure) -> list[str] | None:
    """The "already done" lines when every error the command printed only says that; else None."""
    said: list[str] = []
    for line in failure.output.splitlines():
        text = line.strip()
        if not text:
            continue
        done = _already(failure, text)
        if done is not None:
            said.append(done)
        elif _ERRORISH.search(text) and not text.startswith(("Untagged:", "Deleted:")):
            return None
    return said or None


# --- explanations ----------------------------------------------------------------------------
def _last_error(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for line in reversed(lines):
        if _ERRORISH.search(line) and not line.startswith("hint:"):
            return line
    return lines[-1] if lines else ""


_REPO_IN_MESSAGE = re.compile(r"repository with name '([^']+)'|repository (?:\S+/)?([a-z0-9][\w./-]*) "
                              r"not found")


def _action(command: str) -> str:
    for action in ("push", "pull", "login"):
        if re.search(rf"docker\s+{action}\b", command):
            return action
    return ""


def from_hints(failure: Failure) -> list[str]:
    """The hints table's line for the failure's message (unless the command printed one)."""
    if any(ln.startswith("hint:") for ln in failure.output.splitlines()):
        return []  # the built-in engine's `docker` already printed the hint
    message = _last_error(failure.output)
    m = _REPO_IN_MESSAGE.search(message)
    repository = next((g for g in m.groups() if g), "") if m else ""
    registry = getattr(failure.course, "registry", "") if failure.course is not None else ""
    known: list[str] = []
    if failure.course is not None and repository:
        try:
            known = [r.name for r in failure.course.target.repositories()]
        except Exception:  # noqa: BLE001 - no list: no "did you mean"
            known = []
    found = hints.for_message(message, repository, registry, _action(failure.command), known)
    return [found.line()] if found is not None else []


explainers: list[Explainer] = [from_hints]


def register(fn: Explainer, first: bool = True) -> None:
    """Add an explainer (first: asked before the others, e.g. one reading the lab's trace)."""
    if fn in explainers:
        explainers.remove(fn)
    explainers.insert(0 if first else len(explainers), fn)


def explain(failure: Failure) -> Said:
    """Already done (go on), or the first explainer's lines for this failure."""
    done = already_done(failure)
    if done is not None:
        return Said(True, done)
    for fn in explainers:
        try:
            lines = fn(failure)
        except Exception:  # noqa: BLE001 - an explainer that breaks says nothing, the next one may
            continue
        if lines:
            return Said(False, lines)
    return Said(False, [])

