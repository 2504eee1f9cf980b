"""Each notebook follows the course's shape: a Carpentries episode whose steps are commands."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from labkit.course import checks
from labkit.course.state import NOTEBOOKS
from labkit.course.tools import permissions, solutions

HERE = Path(__file__).resolve().parents[3] / "notebooks"
HEADER = re.compile(r"\*\*Teaching:\*\* (\d+) min · \*\*Exercises:\*\* (\d+) min · "
                    r"\*\*Prerequisites:\*\* (.+)")
COMMAND = re.compile(r"^\s*(?:!|%%bash\b)", re.M)


def load(name: str) -> nbformat.NotebookNode:
    return nbformat.read(HERE / f"{name}.ipynb", as_version=4)


def code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def command_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """Code cells that run a real command (`%%bash` or an IPython `!` line)."""
    return [c for c in code_cells(nb) if COMMAND.search(c.source)]


def test_the_folder_holds_exactly_the_course() -> None:
    assert sorted(p.stem for p in HERE.glob("*.ipynb")) == sorted(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_questions_objectives_times_key_points(name: str) -> None:
    nb = load(name)
    opening, closing = nb.cells[0], nb.cells[-1]
    assert opening.cell_type == "markdown" and opening.source.startswith("# ")
    assert "## Questions" in opening.source and "## Objectives" in opening.source
    assert HEADER.search(opening.source), "no Teaching/Exercises/Prerequisites line"
    assert closing.cell_type == "markdown" and closing.source.startswith("## Key points")


def test_00_lists_each_notebooks_own_time_and_prerequisites() -> None:
    table = load("00-setup").cells[1].source
    for name in NOTEBOOKS:
        teach, ex, pre = HEADER.search(load(name).cells[0].source).groups()  # type: ignore[union-attr]
        row = next(ln for ln in table.splitlines() if f"]({name}.ipynb)" in ln)
        cols = [c.strip() for c in row.strip("|").split("|")]
        assert cols[2:4] == [f"{teach} min", f"{ex} min"], row
        want = "none" if pre.startswith("none") else re.search(r"\[(\d\d)-", pre).group(1)  # type: ignore[union-attr]
        assert cols[4] == want, row


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_first_code_cell_prepares_this_step(name: str) -> None:
    first = code_cells(load(name))[0]
    assert f'course.prepare("{name}")' in first.source


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_steps_are_commands(name: str) -> None:
    """Every notebook runs commands (00 its first `aws`), and none does a step through labkit."""
    nb = load(name)
    assert len(command_cells(nb)) >= 1
    for cell in code_cells(nb):  # labkit's API checks and draws, it does not do the steps
        for call in ("engine.push(", "engine.pull(", "engine.tag(", "engine.build(",
                     "create_repository(", "target.login(", "delete_repository("):
            assert call not in cell.source, f"{name}: a step done through labkit: {call}"


SEED_STEPS = {  # seed step -> (notebook, the command, as a learner types it)
    "create": ("01-create-repository", "aws ecr create-repository --repository-name hello-app"),
    "authenticate": ("02-authenticate", "aws ecr get-login-password --region us-east-1 | docker "
                     "login --username AWS --password-stdin $REGISTRY"),
    "build": ("03-tag", 'docker build -t hello-app:v1 "$(labkit sample path v1)"'),
    "tag": ("03-tag", "docker tag hello-app:v1 $REGISTRY/hello-app:v1"),
    "push": ("04-push", "docker push $REGISTRY/hello-app:v1"),
    "describe": ("04-push", "aws ecr describe-images --repository-name hello-app"),
    "second version: build": ("05-push-a-second-version",
                              'docker build -t hello-app:v2 "$(labkit sample path v2)"'),
    "second version: tag": ("05-push-a-second-version",
                            "docker tag hello-app:v2 $REGISTRY/hello-app:v2"),
    "second version: push": ("05-push-a-second-version", "docker push $REGISTRY/hello-app:v2"),
    "remove": ("06-pull", "docker image rm hello-app:v1"),
    "pull": ("06-pull", "docker pull $REGISTRY/hello-app:v2"),
    "clean up": ("07-clean-up", "aws ecr delete-repository --repository-name hello-app --force"),
}


@pytest.mark.parametrize("step", SEED_STEPS)
def test_every_seed_step_is_done_by_a_command_cell(step: str) -> None:
    name, command = SEED_STEPS[step]
    cells = [c for c in command_cells(load(name)) if command in c.source]
    assert cells, f"{step}: no command cell in {name} runs `{command}`"
    assert all(c.execution_count for c in cells), f"{step}: committed without running"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_exercise_with_a_folded_solution_then_a_check(name: str) -> None:
    cells = load(name).cells
    ex = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and "## Exercise" in c.source]
    assert ex, "no exercise"
    sol = [i for i, c in enumerate(cells) if solutions.is_solution(c)]
    assert sol and sol[0] > ex[0], "no folded solution after the exercise"
    assert solutions.blocks(cells[sol[0]].source), "the solution holds no code block"
    # no solution is a code cell: nothing solves the exercise on "Run All", nothing on screen
    assert not [c for c in code_cells(load(name)) if "solution" in c.metadata.get("tags", [])]
    check = next(c for c in cells[sol[0] + 1:] if c.cell_type == "code")
    used = re.findall(r"checks\.(\w+)\(", check.source)
    assert used, "the cell after the solution is not a labkit.course.checks call"
    for fn in used:
        assert callable(getattr(checks, fn, None)), f"checks.{fn} does not exist"
    # committed unsolved: the check says what is missing (and did not fail)
    text = "".join(o.get("data", {}).get("text/plain", "") for o in check.outputs)
    assert text.startswith("not yet: "), text


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_each_notebook_checks_its_own_result(name: str) -> None:
    """Under "## Check", a step check (labkit.course.stepchecks): it says what it found and
    what is missing. No cell asserts bare (a bare AssertionError says neither)."""
    from labkit.course import stepchecks

    cells = load(name).cells
    at = next(i for i, c in enumerate(cells) if c.cell_type == "markdown"
              and c.source.startswith("## Check"))
    check = next(c for c in cells[at + 1:] if c.cell_type == "code")
    used = re.findall(r"checks\.(\w+)\(", check.source)
    assert used and all(callable(getattr(stepchecks, fn, None)) for fn in used), check.source
    assert all(getattr(checks, fn) is getattr(stepchecks, fn) for fn in used)
    for cell in code_cells(load(name)):
        assert not re.search(r"^\s*assert\b", cell.source, re.M), cell.source


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_outputs_never_hold_a_folded_solution(name: str) -> None:
    """What the learner can read without opening the solution (every output, the "not yet" of
    the check under it included) holds no line of the solution's code."""
    nb = load(name)
    code = [ln.strip() for c in nb.cells if solutions.is_solution(c)
            for _, block in solutions.blocks(c.source) for ln in block.splitlines()]
    code = [ln for ln in code if len(ln) >= 16 and not ln.startswith("#")]
    assert code
    shown = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                      for c in code_cells(nb) for o in c.outputs)
    for line in code:
        # the command part (a comment after it is not the solution)
        command = line.split("  #", 1)[0].strip()
        assert command not in shown, f"{name}: an output shows the solution's {command!r}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_executed_without_errors_or_progress_bars(name: str) -> None:
    for cell in code_cells(load(name)):
        assert cell.execution_count is not None, "run `labkit course run --update`"
        for out in cell.outputs:
            assert out.output_type != "error", f"committed with an error: {out.get('evalue')}"
            if out.output_type == "stream" and out.name == "stderr":
                # a command's own stderr (docker's warnings) is what a terminal shows too;
                # labkit's Python cells print none (no progress bars)
                assert COMMAND.search(cell.source), f"stderr in a Python cell: {out.text[:80]!r}"
                assert "it/s]" not in out.text and "█" not in out.text
            assert "application/vnd.jupyter.widget-view+json" not in out.get("data", {})


def test_volatile_command_outputs_are_tagged_not_masked() -> None:
    """Cells whose output depends on the daemon or the engine are `nbval-ignore-output`,
    each followed by a compared summary; aws and Python cells are compared."""
    for name in NOTEBOOKS:
        for cell in code_cells(load(name)):
            ignored = "nbval-ignore-output" in cell.metadata.get("tags", [])
            if COMMAND.search(cell.source) and re.search(r"docker (build|push|pull|image rm|login)",
                                                          cell.source):
                assert ignored, f"{name}: {cell.source[:60]!r}"
            elif ignored:
                pytest.fail(f"{name}: output ignored without a reason: {cell.source[:60]!r}")


def test_02_powershell_login_reads_what_lab_env_sets(tmp_path: Path) -> None:
    """02's PowerShell form of the login (Windows learners; not run here) reads `$env:`
    variables: each is one that `labkit lab env --format powershell`, which 02 says to run
    first, really sets."""
    from labkit.lab.process.env import render, variables
    from labkit.lab.process.manage import Lab

    text = "\n".join(c.source for c in load("02-authenticate").cells)
    assert "labkit lab env --format powershell | Invoke-Expression" in text
    used = set(re.findall(r"\$env:(\w+)", text))
    lab = Lab(home=tmp_path, host="127.0.0.1", port=5400, pid=1, registry="127.0.0.1:5400")
    set_by_env = set(re.findall(r"^\$env:(\w+) = ", render(variables(lab), "powershell"), re.M))
    assert used and used <= set_by_env, used - set_by_env


def test_06_draws_the_pull_flow_and_the_layer_reuse() -> None:
    """06's figures are code cells committed with the image they drew (each engine's nbval run
    executes them again)."""
    cells = code_cells(load("06-pull"))
    for call in ("diagrams.pull_flow(", "diagrams.layer_reuse("):
        drawn = [c for c in cells if call in c.source]
        assert drawn, f"no cell calls {call}"
        for cell in drawn:
            assert any("image/png" in o.get("data", {}) for o in cell.outputs), call


def test_00_shows_an_iam_policy() -> None:
    actions = permissions.documented("\n".join(c.source for c in load("00-setup").cells))
    assert "ecr:GetAuthorizationToken" in actions and "ecr:PutImage" in actions
    assert actions == sorted(set(actions))


LIFECYCLE_COMMANDS = (  # 05b: each of the lab's ECR features it teaches, as a command a learner types
    "--image-tag-mutability IMMUTABLE_WITH_EXCLUSION",
    "--image-tag-mutability-exclusion-filters filterType=WILDCARD,filter=latest",
    "aws ecr start-lifecycle-policy-preview",
    "aws ecr wait lifecycle-policy-preview-complete",
    "aws ecr get-lifecycle-policy-preview",
    "aws ecr put-lifecycle-policy",
    "labkit lab lifecycle run",
    "aws ecr describe-images --repository-name hello-app-lifecycle",
    "docker pull $REGISTRY/hello-app-lifecycle:v1",
)


@pytest.mark.parametrize("command", LIFECYCLE_COMMANDS)
def test_05b_runs_the_lifecycle_and_immutability_commands(command: str) -> None:
    cells = [c for c in command_cells(load("05b-lifecycle-and-immutability")) if command in c.source]
    assert cells and all(c.execution_count for c in cells), command


def test_05b_exercise_moves_the_labs_clock() -> None:
    nb = load("05b-lifecycle-and-immutability")
    code = "".join(code for c in nb.cells if solutions.is_solution(c)
                   for _, code in solutions.blocks(c.source))
    assert "labkit lab clock advance 15d" in code and "labkit lab clock reset" in code
    assert '"countType":"sinceImagePushed"' in code


def test_05b_expiry_shows_in_describe_images_and_a_failed_pull() -> None:
    """The committed outputs: v1 expired (not listed any more) and its pull reached a 404."""
    nb = load("05b-lifecycle-and-immutability")
    text = {c.source: "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                              for o in c.outputs) for c in code_cells(nb)}
    after = [out for src, out in text.items() if "lifecycle run" in src]
    assert after and "expired 1 image(s)" in after[0]
    pulled = [out for src, out in text.items() if "reader.last_failure" in src]
    assert pulled and "hello-app-lifecycle:v1 with 404 MANIFEST_UNKNOWN" in pulled[0]


def test_committed_outputs_name_no_temp_path() -> None:
    """A headless run's private home (a temp dir) never shows in what learners read: `docker
    login`'s "stored unencrypted in ..." names `~/.docker/config.json`, as the text does."""
    for name in NOTEBOOKS:
        for cell in code_cells(load(name)):
            for out in cell.outputs:
                text = str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", ""))
                assert "/tmp/" not in text and "labkit-course-" not in text, (name, text[:200])


def test_published_outputs_name_the_learners_docker_config(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    from labkit.course.tools.runner import published

    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%%bash\ndocker login ...")])
    nb.cells[0].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="Login "),
        nbformat.v4.new_output("stream", name="stdout", text="Succeeded\n"),
        nbformat.v4.new_output("stream", name="stderr", text=f"WARNING! Your credentials are "
                               f"stored unencrypted in '{tmp_path}/docker-config/config.json'.\n"),
        nbformat.v4.new_output("stream", name="stdout", text="done\n")]
    outs = published(nb).cells[0].outputs
    assert [(o["name"], o["text"]) for o in outs] == [
        ("stdout", "Login Succeeded\n"),
        ("stderr", "WARNING! Your credentials are stored unencrypted in '~/.docker/config.json'.\n"),
        ("stdout", "done\n")]


def test_committed_streams_are_whole() -> None:
    """`labkit course run --update` joins a command's chunks: one stream output after another
    of the same name is never committed."""
    for name in NOTEBOOKS:
        for cell in code_cells(load(name)):
            kinds = [o.get("name") if o.output_type == "stream" else o.output_type
                     for o in cell.outputs]
            assert all(a != b for a, b in zip(kinds, kinds[1:], strict=False)), (name, kinds)
