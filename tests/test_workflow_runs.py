"""The baked workflows, run as written under a real Actions runner (act, on this host,
offline; see tests/act_harness.py): each test is one flow, with assertions on the exit
status, each job's verdict and what the GitHub API stub received.

Slow: each run installs the locked environment in a fresh runner folder and runs the real
commands (the unit tests, the pipeline). One bake per module, installed once.
"""

from __future__ import annotations

import re

import pytest

from .act_harness import Repository
from .conftest import bake
from .github_stub import StubGitHub, serving

MARKER_PREFIX = "<!-- mlops report"
CI_JOBS = {"pre-commit hooks", "unit tests", "pipeline, params and suites agree", "all green"}


@pytest.fixture(scope="module")
def repository(tmp_path_factory, project_env) -> Repository:
    """A default bake (classification, built-in poster, local storage) with a history."""
    work = tmp_path_factory.mktemp("runs")
    project = bake(work, report_poster="builtin")
    project_env.install(project)
    return Repository(project, work, project_env)


@pytest.mark.slow
def test_ci_passes_on_push_and_all_green_fails_on_a_failing_unit_test(repository):
    """ci.yml on a push to main: every job green (the baked tests pass with
    GITHUB_ACTIONS=true and leave the job's summary and outputs alone). Then a pull request
    whose branch adds a failing unit test: `unit tests` fails and `all green` with it."""
    pushed = repository.act("push", "ci.yml", repository.push_event())
    assert pushed.returncode == 0, pushed.failed_because()
    assert pushed.jobs == dict.fromkeys(CI_JOBS, "success"), pushed.failed_because()
    # Nothing but the gate's own verdict in the unit tests' step outputs and summary.
    from_the_tests = [
        line
        for line in pushed.log.splitlines()
        if line.startswith("[CI/unit tests]") and ("::set-output::" in line or "Summary -" in line)
    ]
    assert from_the_tests == []

    repository.checkout("failing-test", new=True)
    try:
        (repository.path / "tests" / "test_broken.py").write_text(
            "def test_broken():\n    assert 1 + 1 == 3\n", encoding="utf-8"
        )
        repository.commit("A failing unit test", push=True)
        # The push above ran the whole suite; here pytest's own PYTEST_ADDOPTS narrows the
        # `unit tests` step (run as written) to the new test and one that passes, so the run
        # shows the failing test fails the job without paying for the suite twice.
        repository.env["PYTEST_ADDOPTS"] = "-k 'test_broken or test_the_shipped_params_file_loads'"
        proposed = repository.act(
            "pull_request", "ci.yml", repository.pull_request_event(3, "failing-test")
        )
    finally:
        repository.env.pop("PYTEST_ADDOPTS", None)
        repository.checkout("main")
    assert proposed.returncode != 0
    assert proposed.jobs == {
        "pre-commit hooks": "success",
        "unit tests": "failure",
        "pipeline, params and suites agree": "success",
        "all green": "failure",
    }, proposed.failed_because()
    assert "test_broken" in proposed.log and "not all green" in proposed.log
    plain = re.sub(r"\x1b\[[0-9;]*m", "", proposed.log)  # pytest colours its summary
    assert re.search(r"1 failed, \d+ passed, \d+ deselected", plain), plain[-3000:]


@pytest.fixture(scope="module")
def with_results(repository) -> Repository:
    """`main` with its pipeline's results committed, as the README's first steps leave it."""
    repository.mlops("dvc", "repro")
    repository.commit("Results of the first run", push=True)
    return repository


def branch_with(
    repository: Repository, branch: str, edits: dict[str, tuple[str, str]], base: str = "main"
) -> str:
    """A branch from `base` that edits files (path: (old, new)), reruns the pipeline and
    commits its results, as a contributor would before opening a pull request."""
    repository.checkout(base)
    repository.checkout(branch, new=True)
    for name, (old, new) in edits.items():
        path = repository.path / name
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} is not in {name}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    repository.mlops("dvc", "repro")
    return repository.commit(f"{branch}: {', '.join(edits)}", push=True)


WORSE_MODEL = {"params.yaml": ("C: 1.0", "C: 0.0001")}
LOOSER_GATES = {
    "params.yaml": (
        "roc_auc: {direction: higher, abs_tolerance: 0.01, min: 0.7}\n"
        "  f1: {direction: higher, abs_tolerance: 0.01, min: 0.5}\n"
        "  accuracy: {direction: higher, abs_tolerance: 0.01}",
        "roc_auc: {direction: higher, abs_tolerance: 1.0}\n"
        "  f1: {direction: higher, abs_tolerance: 1.0}\n"
        "  accuracy: {direction: higher, abs_tolerance: 1.0}",
    )
}


def report_comments(github: StubGitHub, number: int) -> list[dict]:
    return [c for c in github.comments_on(number) if MARKER_PREFIX in c["body"]]


def gate_failed_the_job(run) -> bool:
    """The branch reproduced, then the judge failed at the gate step, after the report."""
    return (
        run.returncode != 0
        and run.jobs.get("Reproduce the branch") == "success"
        and run.jobs.get("Report and quality gate") == "failure"
        and "Failure - Main Quality gate" in run.log
    )


@pytest.mark.slow
def test_the_pull_request_report_comments_once_and_the_gate_decides(with_results):
    """report.yml on pull requests against main with committed results."""
    repository = with_results
    workflow = "report.yml"
    with serving(StubGitHub()) as github:
        repository.env.update(GITHUB_API_URL=github.url)

        # A harmless change: the job passes, one comment says CI reproduced the results.
        branch_with(repository, "harmless", {"README.md": ("# ", "# Harmless: ")})
        first = repository.act(
            "pull_request", workflow, repository.pull_request_event(5, "harmless")
        )
        assert first.returncode == 0, first.failed_because()
        [comment] = report_comments(github, 5)
        assert "Quality gate passed" in comment["body"]
        assert "Reproduced: `dvc repro`" in comment["body"]

        # A second push to the same pull request edits that comment.
        (repository.path / "NOTES.md").write_text("second push\n", encoding="utf-8")
        repository.commit("A second push", push=True)
        second = repository.act(
            "pull_request", workflow, repository.pull_request_event(5, "harmless")
        )
        assert second.returncode == 0, second.failed_because()
        assert [c["id"] for c in report_comments(github, 5)] == [comment["id"]]
        assert ("PATCH", f"/repos/octo/model/issues/comments/{comment['id']}") in github.requests

        # A worse model: the gate fails the job, and the comment says so.
        branch_with(repository, "worse", WORSE_MODEL)
        worse = repository.act("pull_request", workflow, repository.pull_request_event(6, "worse"))
        assert gate_failed_the_job(worse), worse.failed_because()
        [failed] = report_comments(github, 6)
        assert "Quality gate failed" in failed["body"]

        # The same model with its own gates loosened: judged by main's gates, still fails.
        branch_with(repository, "worse-looser", LOOSER_GATES, base="worse")
        looser = repository.act(
            "pull_request", workflow, repository.pull_request_event(8, "worse-looser")
        )
        assert gate_failed_the_job(looser), looser.failed_because()
        [loosened] = report_comments(github, 8)
        assert "Quality gate failed" in loosened["body"]

        # From a fork: nothing posted, the report in the job summary, the gate decides.
        repository.checkout("worse")
        posted = len(github.comments)
        forked = repository.act(
            "pull_request", workflow, repository.pull_request_event(9, "worse", fork=True)
        )
        assert gate_failed_the_job(forked), forked.failed_because()
        assert len(github.comments) == posted
        assert not any(method == "POST" for method, path in github.requests if "/9/" in path)
        assert "Quality gate failed" in forked.summaries.get("Report and quality gate", "")
    repository.checkout("main")
    for run in (first, second, worse, looser, forked):
        print(f"report run: {run.seconds:.0f} s")


@pytest.mark.slow
def test_the_harness_runs_the_file_not_the_commands(with_results):
    """A copy of the report workflow whose report step is renamed, so the gate's `if:`
    (`steps.report.outcome`) reads a step that no longer exists: the same worse model now
    passes, so the assertion the report flow makes fails. The harness tests the wiring."""
    repository = with_results
    original = repository.path / ".github" / "workflows" / "report.yml"
    text = original.read_text(encoding="utf-8")
    assert text.count("id: report\n") == 1 and "steps.report.outcome" in text
    mutant = repository.work / "report-mutant.yml"
    mutant.write_text(text.replace("id: report\n", "id: built\n"), encoding="utf-8")
    if repository.git("branch", "--list", "worse"):
        repository.checkout("worse")
    else:
        branch_with(repository, "worse", WORSE_MODEL)
    with serving(StubGitHub()) as github:
        repository.env.update(GITHUB_API_URL=github.url)
        event = repository.pull_request_event(11, "worse")
        try:
            run = repository.act("pull_request", mutant, event)
        finally:
            repository.checkout("main")
    assert run.jobs == {
        "Reproduce the branch": "success",
        "Report and quality gate": "success",
    }, run.failed_because()
    assert not gate_failed_the_job(run)
    assert "Quality gate failed" in report_comments(github, 11)[0]["body"]


@pytest.mark.slow
def test_the_override_label_passes_the_gate_and_names_who_applied_it(with_results):
    """A worse model whose pull request carries main's override label (report.override_label):
    the `labeled` event runs the workflow, the judge asks the API who applied the label, and
    the gate passes with that name as the headline; the paired intervals are in the report."""
    repository = with_results
    workflow = "report.yml"
    if repository.git("branch", "--list", "worse"):
        repository.checkout("worse")
    else:
        branch_with(repository, "worse", WORSE_MODEL)
    event = repository.pull_request_event(12, "worse")
    event["action"] = "labeled"
    event["label"] = {"name": "accept-regression"}
    event["pull_request"]["labels"] = [{"name": "accept-regression"}]
    with serving(StubGitHub()) as github:
        repository.env.update(GITHUB_API_URL=github.url)
        github.label(12, "accept-regression", "alice")
        try:
            run = repository.act("pull_request", workflow, event)
        finally:
            repository.checkout("main")
    assert run.returncode == 0, run.failed_because()
    [comment] = report_comments(github, 12)
    body = comment["body"]
    assert body.startswith("## ✅ Quality gate overridden by @alice (`accept-regression`): ")
    assert "Gate overridden: @alice applied the label `accept-regression`" in body
    assert "### Noise: 95% intervals" in body and "🔴 regressed" in body
    assert ("GET", "/repos/octo/model/issues/12/events") in [
        (method, path.split("?")[0]) for method, path in github.requests
    ]
