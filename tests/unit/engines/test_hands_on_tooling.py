"""The hands-on tooling's pure parts: the hints table (and the course's topic table behind it),
the login command and docker's formats. The built-in `docker` run as a process:
tests/integration/engines/test_builtin_cli.py."""

from __future__ import annotations

import pytest

from labkit.course.state import NOTEBOOKS
from labkit.ecr.login import for_registry, login_command
from labkit.engines import hints
from labkit.engines.builtin import dockerfmt

REG = "127.0.0.1:5400"


@pytest.mark.parametrize(("message", "kind", "notebook"), [
    ("no basic auth credentials", "no-login", "02-authenticate"),
    (f'Head "http://{REG}/v2/hello-app/manifests/v1": no basic auth credentials', "no-login",
     "02-authenticate"),
    ("denied: Your authorization token has expired. Reauthenticate and try again.", "expired",
     "02-authenticate"),
    ("name unknown: The repository with name 'hello-app' does not exist in the registry with id "
     "'123456789012'", "no-repository", "01-create-repository"),
    ("tag invalid: The image tag 'v1' already exists in the 'hello-app' repository and cannot be "
     "overwritten because the repository is immutable.", "immutable",
     "05-push-a-second-version"),
    (f"manifest for {REG}/hello-app:nope not found: manifest unknown: Requested image not found",
     "missing-tag", "06-pull"),
    ("No such image: hello-app:v9", "no-local-image", "03-tag"),
])
def test_learner_mistakes_get_one_hint_naming_the_notebook(message: str, kind: str,
                                                           notebook: str) -> None:
    assert hints.classify(message) == kind
    found = hints.for_message(message, "hello-app", REG, "push")
    assert found is not None and found.notebook == notebook
    line = found.line()
    assert line.startswith("hint: ") and "\n" not in line and f"(notebook {notebook})" in line


def test_every_hint_names_a_real_notebook() -> None:
    for kind, _ in hints._RULES:
        found = hints.hint(kind, "hello-app", REG, "push")
        assert found is not None
        assert found.topic is None or found.notebook in NOTEBOOKS


def test_unknown_failures_get_no_hint() -> None:
    assert hints.for_message("something odd happened") is None


def test_one_login_command_for_bash_and_powershell() -> None:
    bash = login_command("us-east-1", REG)
    assert bash == ("aws ecr get-login-password --region us-east-1 | "
                    f"docker login --username AWS --password-stdin {REG}")
    ps = login_command("us-east-1", REG, "powershell")
    assert ps == ("(Get-ECRLoginCommand -Region us-east-1 -EndpointUrl $env:AWS_ENDPOINT_URL)"
                  f".Password | docker login --username AWS --password-stdin {REG}")
    ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    assert for_registry(ecr, "powershell").startswith("(Get-ECRLoginCommand -Region eu-west-1)")
    with pytest.raises(ValueError):
        login_command("us-east-1", REG, "fish")


def test_docker_formats() -> None:
    assert dockerfmt.human_size(2123) == "2.12kB"
    assert dockerfmt.human_size(105) == "105B"
    assert dockerfmt.human_size(4608, 4) == "4.608kB"
    assert dockerfmt.human_duration(34) == "34 seconds"
    assert dockerfmt.human_duration(90) == "About a minute"
    # a reproducible build's image is dated 1970-01-01 (SOURCE_DATE_EPOCH=0): the docker CLI
    # lists that very image (copied into the Docker Engine with skopeo) as "56 years ago" too
    import datetime as dt

    assert dockerfmt.since("1970-01-01T00:00:00Z", dt.datetime(2026, 12, 4, tzinfo=dt.UTC)) \
        == "56 years ago"
    # what docker 20.10 printed for `docker images cho-hello-app`
    assert dockerfmt.table([["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
                            ["cho-hello-app", "v1", "e4de23f86ed8", "34 seconds ago", "2.12kB"]]
                           ) == ("REPOSITORY      TAG       IMAGE ID       CREATED          SIZE\n"
                                 "cho-hello-app   v1        e4de23f86ed8   34 seconds ago   2.12kB")


def test_the_course_maps_every_topic_the_client_names_to_a_notebook() -> None:
    """Hints name topics; the course's table resolves each one (a topic it lacks is a KeyError)."""
    from labkit.course.topics import TOPICS, notebook

    named = {hints.hint(kind, "hello-app", REG, "push").topic for kind, _ in hints._RULES}
    named |= {"create-repository", "push", "tag"}  # labkit.ecr.errors, the built-in engine
    named.discard(None)
    assert named <= set(TOPICS), named - set(TOPICS)
    assert {notebook(t) for t in TOPICS} <= set(NOTEBOOKS)
    with pytest.raises(KeyError):
        notebook("no-such-topic")
