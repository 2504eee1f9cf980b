"""A learner's habits never break a notebook, on either engine.

Each notebook must pass Run All twice in a row, Restart & Run All, runs after other notebooks
(also the whole course in reverse order), and runs after the learner's own terminal work; a
step already done says so and goes on. Forward order on a fresh lab is covered already, by nbval
over the committed notebooks with both engines (the README's test command).

Which runs, and why these cover the habits (one lab per engine, in this order):

1. REVERSE, each notebook Run All twice in one kernel: 07 07+ 06 06+ 05b 05b+ ... 00 00+.
   The whole course in reverse order; every notebook after its successor, which leaves the
   notebook's own step already done (and more); Run All twice in a row. 07 runs first, on a
   fresh lab (its first cell builds everything the course makes), and 06 runs after it.
2. AFTER TERMINAL WORK: the learner builds and tags images of their own (two of them hold v1's
   and v2's layers), pushes a tag of their own and v1 a second time, and deletes hello-app and
   notes-app with the AWS CLI. Then, each in a fresh kernel: 06 (pulls while the learner's
   names hold the layers), 07 (cleans up what the course made, and only that), 01 right after
   07 (the repository is gone: created again), then 03, 04, 05 in the state 07 leaves (the
   local images gone, hello-app empty: built, tagged and pushed again, where docker may mount
   layers from the course's other repositories). So every notebook whose step 07 undoes also
   runs after 07; for the others 07 changes nothing their first cell does not rebuild: 00
   reads no state, 02 logs in (07 does not log out), 05b deletes and rebuilds its own
   repositories. The learner's names stay on the machine for all of them.

Restart & Run All is covered by what these runs combine: a restart drops the kernel's Python
state only, and every notebook here runs in a fresh kernel (1 and 2) and in the state its own
run leaves (the second Run All of 1); its first cell rebuilds every Python name it uses.

Last, mistakes: a failed command shows its own output and the explanation, no traceback; one
already done says so; and a check fails when its step was skipped, whatever ran before.

Both engines run at once, from the start of the test session (two background processes,
tests/course_runs.py: the Docker Engine's takes its turn on the daemon with the session's other
Docker-engine course runs, the built-in engine's needs none); the test reads their results.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.course.state import NOTEBOOKS
from tests.integration.conftest import CourseRuns

STEPS = [name.split("-", 1)[0] for name in NOTEBOOKS]
REVERSE_TWICE = [s for n in reversed(STEPS) for s in (n, n + "+")]
AFTER_TERMINAL = ["T:extras", "06", "07", "01", "03", "04", "05"]
PHASES = {"reverse, Run All twice": REVERSE_TWICE, "after terminal work": AFTER_TERMINAL}

ROOT = Path(__file__).resolve().parents[3]


# Mistakes, last, in the state the habits left: a command that fails (a misspelled repository
# on pull and on describe) and one already done, in cells the test writes; and 04 with its push
# skipped, after v1 was pushed many times: its check must still fail.
MISTAKES = [
    'from labkit import course\nc = course.prepare("03-tag")',
    "%%bash\naws ecr create-repository --repository-name todo-app --query repository.repositoryName",
    "%%bash\naws ecr create-repository --repository-name todo-app --query repository.repositoryName",
    "%%bash\ndocker pull $REGISTRY/helo-app:v1",
    "%%bash\naws ecr describe-images --repository-name helo-app",
]
SKIP_PUSH = "docker push $REGISTRY/hello-app:v1"


def play(engine: str) -> dict[str, object]:
    """Run every phase on `engine` (in this process); what the caller asserts on."""
    import nbformat

    from labkit.course.tools import permissions
    from labkit.lab import process
    from tests.integration.course.habits import HabitBroke, session

    out: dict[str, object] = {"engine": engine}
    with session(engine) as s:
        for label, steps in PHASES.items():
            s.play(steps, label)
            if steps is REVERSE_TWICE:  # the whole course, each exercise solved: what it calls
                lab = process.running(s.home)
                assert lab is not None, "the session's lab is not running"
                out["ecr actions"] = permissions.used(lab.operations(), lab.trace(0))
        out["solved"] = {r.notebook: r.solved for r in s.runs if r.again}
        first_01 = next(r for r in s.runs if r.step == "01+")
        out["01 again: create"] = first_01.output("aws ecr create-repository")
        out["01 again: check"] = first_01.output("checks.repository_exists")
        out["04 again: check"] = next(r for r in s.runs if r.step == "04+").output("checks.pushed")
        out["05 again: check"] = next(r for r in s.runs if r.step == "05+").output("checks.pushed")
        after_t = s.runs[len(REVERSE_TWICE):]
        out["01 after deletion: create"] = next(r for r in after_t if r.step == "01").output(
            "aws ecr create-repository")
        out["06 after terminal: check"] = next(r for r in after_t if r.step == "06").output(
            "checks.pulled")
        out["tracebacks"] = [f"{r.notebook} cell {i}" for r in s.runs for i, text in r.shown.items()
                             if "Traceback" in text or "CalledProcessError" in text]
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in MISTAKES])
        out["mistakes"] = s.cells(nb)[1:]
        try:
            s.play(["04"], "the push skipped", skip=SKIP_PUSH)
            out["push skipped"] = "the notebook passed"
        except HabitBroke as e:
            out["push skipped"] = str(e)
        out["seconds"] = s.seconds
    return out


def test_the_sequences_cover_the_habits() -> None:
    """What the module docstring claims, checked on the sequences themselves."""
    pairs = [(a.rstrip("+"), b) for seq in PHASES.values() for a, b in zip(seq, seq[1:], strict=False)]
    for n in STEPS:
        assert (n, n + "+") in pairs, f"{n}: Run All twice"
        later = STEPS[STEPS.index(n) + 1:]
        if later:
            assert (later[0], n) in pairs, f"{n} after its successor"
    assert [s for s in REVERSE_TWICE if not s.endswith("+")] == list(reversed(STEPS))
    assert ("07", "06") in pairs and ("07", "01") in pairs  # right after clean-up
    after_07 = AFTER_TERMINAL[AFTER_TERMINAL.index("07"):]
    assert {"01", "03", "04", "05"} <= set(after_07) and "02" not in after_07  # nothing rebuilds
    assert AFTER_TERMINAL[0].startswith("T:")


@pytest.mark.parametrize("engine", ["builtin", "docker"])
def test_learner_habits_never_break_a_notebook(engine: str, course_runs: CourseRuns) -> None:
    """Each engine's habits ran in the background from the session's start (`play` in a process
    of its own, tests/course_runs.py); here its result is read."""
    if engine == "docker":
        course_runs.docker()  # skips (or fails under CI) without a Docker Engine
    run = course_runs.habits_builtin if engine == "builtin" else course_runs.habits_docker
    assert run is not None
    out = run.habits()
    assert "broke" not in out, out.get("broke")
    assert not out["tracebacks"], f"[{engine}] a Python traceback in {out['tracebacks']}"
    # every exercise solvable: each notebook's second Run All ran its solutions, checks strict
    solved = dict(out["solved"])
    assert sorted(solved) == sorted(NOTEBOOKS) and all(solved.values()), solved
    # a step already done says so and goes on
    assert "RepositoryAlreadyExistsException" in out["01 again: create"]
    assert "already done: the repository hello-app exists" in out["01 again: create"]
    assert "exists (created earlier)" in out["01 again: check"]
    assert "already pushed: Layer already exists for all 3 layers" in out["04 again: check"]
    assert "already pushed" in out["05 again: check"]
    # ... and a step to do again after the learner deleted its result is done again
    assert "already done" not in out["01 after deletion: create"]
    assert '"repositoryName": "hello-app"' in out["01 after deletion: create"]
    # the learner's own local names hold v1's and v2's layers: the pulls find them here
    assert "already here" in out["06 after terminal: check"]
    mistakes(engine, out["mistakes"])
    skipped = str(out["push skipped"])
    assert "check failed: the lab received no push of hello-app:v1 after the mark" in skipped
    assert "Traceback" not in skipped.split("--- it showed ---", 1)[1], skipped
    print(f"learner habits [{engine}]: { {k: round(v) for k, v in out['seconds'].items()} }")


def mistakes(engine: str, shown: list[list[str]]) -> None:
    """What MISTAKES showed: the tools' own words, then ours, never a traceback."""
    (_, first), (ok, again), (failed, pull), (failed2, describe) = shown
    assert first.strip() == '"todo-app"', first
    # already done: the AWS CLI's own error, then the sentence, and the cell succeeded
    assert ok == "ok" and "RepositoryAlreadyExistsException" in again, again
    assert again.rstrip().endswith("already done: the repository todo-app exists (created "
                                   "earlier; ECR refuses to create it twice). Going on."), again
    # a failure: docker's own message, then the lab's explanation of its refusal
    assert failed == "CommandFailed", pull
    assert "repository with name 'helo-app' does not exist" in pull, pull
    assert "labkit explain: the lab refused a pull of helo-app:v1" in pull, pull
    # the built-in `docker` prints its own hint line; the course adds none where the lab explains
    assert pull.count("hint: ") == (1 if engine == "builtin" else 0), pull
    assert "did you mean `hello-app`?" in pull, pull
    assert "aws ecr create-repository" not in pull, pull  # a pull never suggests creating
    assert "the command failed (exit status 1)" in pull
    assert failed2 == "CommandFailed" and "RepositoryNotFoundException" in describe, describe
    assert "did you mean `hello-app`?" in describe, describe
    assert "fix       aws ecr describe-repositories --repository-names hello-app" in describe
    for text in (again, pull, describe):
        assert "Traceback" not in text and "CalledProcessError" not in text and 'File "' not in text
