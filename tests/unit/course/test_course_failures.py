"""What a notebook says under a failed command: "already done, going on" only when every error
the command printed says just that; otherwise the explanation (the hints table for now).

The messages are the real tools' words: the AWS CLI's (ECR's exception names and messages, as
in tests/fixtures/ecr_messages.json) and the docker CLI's, as printed by docker 20.10 and by the
built-in engine (tests/integration/engines/test_builtin_cli.py compares the two).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from labkit.course import failures
from labkit.course.bashcell import CommandFailed, Ran, run
from labkit.engines import hints

REG = "127.0.0.1:5400"
EXISTS = ("An error occurred (RepositoryAlreadyExistsException) when calling the CreateRepository "
          "operation: The repository with name 'hello-app' already exists in the registry with "
          "id '123456789012'")
GONE = ("An error occurred (RepositoryNotFoundException) when calling the DeleteRepository "
        "operation: The repository with name 'notes-app' does not exist in the registry with id "
        "'123456789012'")
PULL_TYPO = (f"Error response from daemon: repository {REG}/helo-app not found: name unknown: The "
             "repository with name 'helo-app' does not exist in the registry with id "
             "'123456789012'")


@dataclass
class Repo:
    name: str


@dataclass
class Ecr:
    """A target's ECR client as far as these functions read it: describe_repositories."""

    mutability: dict[str, str] = field(default_factory=dict)

    def describe_repositories(self, repositoryNames: list[str]) -> dict[str, Any]:  # noqa: N803
        return {"repositories": [{"repositoryName": n, "imageTagMutability": self.mutability[n]}
                                 for n in repositoryNames]}


@dataclass
class Target:
    ecr: Ecr
    names: list[str]

    def repositories(self) -> list[Repo]:
        return [Repo(n) for n in self.names]


@dataclass
class Course:
    target: Target
    registry: str = REG


def course(**mutability: str) -> Course:
    names = [n.replace("_", "-") for n in mutability] or ["hello-app"]
    return Course(Target(Ecr({n.replace("_", "-"): m for n, m in mutability.items()}), names))


def said(command: str, output: str, code: int = 1, c: Any = None) -> failures.Said:
    return failures.explain(failures.Failure(command, output, code, c))


def test_a_repository_that_exists_is_a_step_already_done() -> None:
    out = said("aws ecr create-repository --repository-name hello-app", f"\n{EXISTS}\n", 255,
               course(hello_app="MUTABLE"))
    assert out.done and out.lines == ["already done: the repository hello-app exists (created "
                                      "earlier; ECR refuses to create it twice). Going on."]


def test_an_existing_repository_with_other_settings_is_not_done() -> None:
    """05's exercise asks for IMMUTABLE: a MUTABLE hello-app-immutable is not its result."""
    cmd = ("aws ecr create-repository --repository-name hello-app-immutable \\\n"
           "    --image-tag-mutability IMMUTABLE")
    message = EXISTS.replace("'hello-app'", "'hello-app-immutable'")
    assert not said(cmd, message, 255, course(hello_app_immutable="MUTABLE")).done
    assert said(cmd, message, 255, course(hello_app_immutable="IMMUTABLE")).done


def test_deleted_and_removed_already_are_done() -> None:
    assert said("aws ecr delete-repository --repository-name notes-app --force", GONE, 255).done
    rm = said("docker image rm hello-app:v1 hello-app:v2",
              "Untagged: hello-app:v1\nError response from daemon: No such image: hello-app:v2\n")
    assert rm.done and "no local image is called hello-app:v2" in rm.lines[0]


@pytest.mark.parametrize(("command", "output"), [
    # the same "not found" from a command that is not a removal is a real failure
    ("aws ecr describe-repositories --repository-names notes-app",
     GONE.replace("DeleteRepository", "DescribeRepositories")),
    ("docker tag hello-app:v9 x:v9", "Error response from daemon: No such image: hello-app:v9"),
    # one done, one real failure in the same cell: the cell failed
    ("aws ecr create-repository --repository-name hello-app\ndocker push x",
     f"{EXISTS}\nname unknown: The repository with name 'x' does not exist"),
    ("docker login ...", "Error response from daemon: login attempt to http://127.0.0.1:5400/v2/ "
                         "failed with status: 403 Forbidden"),
])
def test_anything_else_is_a_failure(command: str, output: str) -> None:
    assert not said(command, output).done


def test_a_pull_of_a_misspelled_repository_suggests_the_name_never_creating_it() -> None:
    out = said("docker pull $REGISTRY/helo-app:v1", PULL_TYPO, 1, course(hello_app="MUTABLE"))
    assert not out.done and len(out.lines) == 1
    line = out.lines[0]
    assert line.startswith("hint: the repository helo-app does not exist: did you mean hello-app?")
    assert "aws ecr create-repository" not in line and "describe-repositories" in line
    # no repository close to it: it does not exist; list them (still no create on a pull)
    out = said("docker pull $REGISTRY/zzz:v1", PULL_TYPO.replace("helo-app", "zzz"), 1,
               course(hello_app="MUTABLE"))
    assert "the repository zzz does not exist in this registry" in out.lines[0]
    assert "aws ecr create-repository" not in out.lines[0]


def test_a_push_to_a_new_name_is_told_to_create_it_and_a_typo_gets_the_name() -> None:
    message = "name unknown: The repository with name 'notes' does not exist in the registry"
    found = hints.for_message(message, "notes", REG, "push", ["hello-app"])
    assert found is not None and found.command == "aws ecr create-repository --repository-name notes"
    found = hints.for_message(message.replace("notes", "helo-app"), "helo-app", REG, "push",
                              ["hello-app", "notes-app"])
    assert found is not None and "did you mean hello-app?" in found.text


def test_the_immutable_hint_never_undoes_immutability() -> None:
    message = ("tag invalid: The image tag 'stable' already exists in the 'hello-app-immutable' "
               "repository and cannot be overwritten because the repository is immutable.")
    found = hints.for_message(message, "hello-app-immutable", REG, "push")
    assert found is not None and found.topic == "immutable-tags"
    assert "MUTABLE" not in found.command and "put-image-tag-mutability" not in found.command
    assert "new tag" in found.text and f"docker push {REG}/hello-app-immutable:NEW_TAG" in found.command


@pytest.mark.parametrize("stderr_first", [False, True])
def test_a_push_of_no_local_image_gets_its_hint_whichever_stream_came_first(
        stderr_first: bool) -> None:
    """docker prints "The push refers to ..." on stdout and the error on stderr; the cell's two
    pumps may interleave them either way (seen once in CI, under load): the error is still the
    line the hints table reads."""
    lines = ["The push refers to repository [127.0.0.1:5400/nothing-local]",
             "An image does not exist locally with the tag: 127.0.0.1:5400/nothing-local"]
    output = "\n".join(reversed(lines) if stderr_first else lines) + "\n"
    out = said("docker push $REGISTRY/nothing-local:v1", output, c=course())
    assert not out.done and out.lines and out.lines[0].startswith("hint: "), out


def test_a_hint_the_command_printed_is_not_repeated() -> None:
    """The built-in engine's `docker` prints its hint line itself."""
    out = said("docker pull x", PULL_TYPO + "\nhint: the repository helo-app does not exist ...")
    assert out == failures.Said(False, [])


def test_explainers_registered_first_are_asked_first() -> None:
    def from_trace(f: failures.Failure) -> list[str]:
        return [f"the lab refused it (since mark {f.since})"]

    def broken(f: failures.Failure) -> list[str]:
        raise ConnectionError("the lab is down")

    failures.register(from_trace)
    failures.register(broken)  # asked first, breaks: the next one answers, nothing is raised
    try:
        out = failures.explain(failures.Failure("docker pull x", PULL_TYPO, 1, None, since=7))
        assert out.lines == ["the lab refused it (since mark 7)"]
    finally:
        failures.explainers.remove(from_trace)
        failures.explainers.remove(broken)
    # already done comes before any explainer
    assert said("aws ecr create-repository --repository-name hello-app", EXISTS, 255).done


def test_a_cell_runs_in_bash_and_its_output_streams_through(capfd: pytest.CaptureFixture[str]
                                                              ) -> None:
    ran = run("echo out; echo err >&2; exit 3")
    assert ran == Ran(3, ran.output) and "out" in ran.output and "err" in ran.output
    captured = capfd.readouterr()
    assert captured.out == "out\n" and captured.err == "err\n"
    assert run("true").code == 0


def test_a_failed_cell_renders_its_explanation_not_a_traceback() -> None:
    e = CommandFailed(1, ["hint: log in first (notebook 02-authenticate): aws ecr ..."])
    assert e._render_traceback_() == ["the command failed (exit status 1)",
                                      "hint: log in first (notebook 02-authenticate): aws ecr ..."]
