"""A reviewer's adversary against the pull-request gate, run as the workflow runs it.

One baked project, one history: `main` holds the default model (C=1.0) and its results,
and its gates judge by the point rule (`decide: point`): the honest weak model drops
accuracy by two of the 113 test rows, beyond the 0.01 tolerance, which the default
interval rule rightly calls noise (tests/test_noise.py in the project covers that rule);
each branch below starts from it, and is checked by running the `run:` steps of the
baked report workflow, in their order and working directories, with GitHub's
variables (RUNNER_TEMP, GITHUB_WORKSPACE, the event) pointing at the test's folders.
Steps that need GitHub (actions, posting the comment, CML) are left out; the act
harness runs the whole file under a runner.

    control  a README edit: the gate passes (it is not failing everything)
    forged   C=0.01 (an honest fail), metrics.json set to main's passing values and
             its md5 and size fixed in dvc.lock
    scores   C=0.01, and core/metrics.py adds 0.015 to every score
    gates    C=0.01, and core/gates.py widens every allowed drop by 0.05
    seed     split.seed changed: other test rows than main's
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from .conftest import bake, run

pytestmark = pytest.mark.slow

WEAK = 0.01
WORKFLOW = ".github/workflows/report.yml"
# Steps that talk to GitHub (or install what only posting needs): not run here.
NEEDS_GITHUB = ("mlops post-report", "npm install")


@dataclass
class Outcome:
    report: str
    gate_code: int
    gate_output: str
    steps: list[str]


def workflow_steps(project: Path) -> list[dict]:
    """The `run:` steps of the report job, in order (the `uses:` ones set up a runner)."""
    workflow = yaml.safe_load((project / WORKFLOW).read_text(encoding="utf-8"))
    steps = workflow["jobs"]["report"]["steps"]
    return [
        step
        for step in steps
        if "run" in step and not any(part in step["run"] for part in NEEDS_GITHUB)
    ]


def set_in_params(project: Path, pattern: str, replacement: str) -> None:
    path = project / "params.yaml"
    text, count = re.subn(pattern, replacement, path.read_text(encoding="utf-8"), count=1)
    assert count == 1, pattern
    path.write_text(text, encoding="utf-8")


def set_c(project: Path, value: float) -> None:
    set_in_params(project, r"(\n      C: )\S+", rf"\g<1>{value}")


def edit_source(project: Path, module: str, old: str, new: str) -> None:
    path = next((project / "src").glob(f"*/{module}"))
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def forge_metrics(project: Path, values: str) -> None:
    """metrics.json with other values, and dvc.lock's md5 and size of it made to match."""
    metrics = project / "metrics.json"
    metrics.write_text(values, encoding="utf-8")
    lock_file = project / "dvc.lock"
    lock = yaml.safe_load(lock_file.read_text(encoding="utf-8"))
    for out in lock["stages"]["evaluate"]["outs"]:
        if out["path"] == "metrics.json":
            out["md5"] = hashlib.md5(metrics.read_bytes()).hexdigest()
            out["size"] = metrics.stat().st_size
    lock_file.write_text(yaml.safe_dump(lock, sort_keys=False), encoding="utf-8")


class History:
    def __init__(self, project: Path, env, scratch: Path):
        self.project = project
        self.env = env
        self.scratch = scratch
        self.outcomes: dict[str, Outcome] = {}

    def git(self, *args: str, cwd: Path | None = None) -> str:
        return self.env.run(["git", *args], cwd=cwd or self.project).stdout.strip()

    def commit(self, message: str) -> None:
        self.git("add", "--all")
        self.git("commit", "--quiet", "-m", message)

    def pull_request(self, name: str) -> Outcome:
        """Run the workflow's steps on the checked-out branch, as GitHub would."""
        runner_temp = self.scratch / f"runner-{name}"
        runner_temp.mkdir()
        event = runner_temp / "event.json"
        head = self.git("rev-parse", "HEAD")
        base = self.git("rev-parse", "main")
        event.write_text(
            json.dumps(
                {"pull_request": {"number": 1, "head": {"sha": head}, "base": {"sha": base}}}
            )
        )
        variables = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_WORKSPACE": str(self.project),
            "GITHUB_OUTPUT": str(runner_temp / "output"),
            "RUNNER_TEMP": str(runner_temp),
            "BASE_SHA": base,
        }
        gate = None
        ran = []
        for step in workflow_steps(self.project):
            cwd = Path(
                step.get("working-directory", str(self.project)).replace(
                    "${{ runner.temp }}", str(runner_temp)
                )
            )
            ran.append(step["run"])
            result = run(
                ["bash", "-e", "-c", step["run"]],
                cwd=cwd,
                env={**self.env.env, **variables},
                check=False,
            )
            if "mlops gate" in step["run"]:
                gate = result
            elif result.returncode != 0:
                pytest.fail(
                    f"{name}: step {step.get('name')!r} exited {result.returncode}\n"
                    f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
                )
        assert gate is not None, "the workflow has no gate step"
        report = (runner_temp / "base" / "report.md").read_text(encoding="utf-8")
        self.git("worktree", "remove", "--force", str(runner_temp / "base"))
        return Outcome(report, gate.returncode, gate.stdout + gate.stderr, ran)

    def branch(self, name: str, change) -> None:
        self.git("checkout", "--quiet", "-b", name, "main")
        # The judge's steps installed the base worktree into the shared environment.
        self.env.install(self.project)
        change(self.project)
        self.commit(f"{name}")
        self.outcomes[name] = self.pull_request(name)
        self.git("checkout", "--quiet", "--force", "main")
        self.git("clean", "--quiet", "-fd", "--", "src")


@pytest.fixture(scope="module")
def history(tmp_path_factory, project_env) -> History:
    scratch = tmp_path_factory.mktemp("attacks")
    project = bake(scratch, task="classification", report_poster="builtin")
    project_env.install(project)
    made = History(project, project_env, scratch)
    made.git("config", "user.email", "ci@example.com")
    made.git("config", "user.name", "CI")
    params = project / "params.yaml"
    text = params.read_text(encoding="utf-8")
    rule = "{direction: higher, abs_tolerance:"
    assert text.count(rule) == 5, "every classification rule is changed to the point rule"
    point = text.replace(rule, "{decide: point, direction: higher, abs_tolerance:")
    params.write_text(point, encoding="utf-8")
    project_env.run(["dvc", "repro"], cwd=project)
    made.commit("main: the default model and its results")
    main_metrics = (project / "metrics.json").read_text(encoding="utf-8")

    def control(root: Path) -> None:
        with (root / "README.md").open("a", encoding="utf-8") as readme:
            readme.write("\nA note.\n")

    def forged(root: Path) -> None:
        set_c(root, WEAK)
        project_env.run(["dvc", "repro"], cwd=root)
        forge_metrics(root, main_metrics)

    def scores(root: Path) -> None:
        set_c(root, WEAK)
        edit_source(
            root,
            "core/metrics.py",
            "return {name: round(float(value), DIGITS)",
            "return {name: round(float(value) + 0.015, DIGITS)",
        )
        project_env.run(["dvc", "repro"], cwd=root)

    def gates(root: Path) -> None:
        set_c(root, WEAK)
        edit_source(
            root,
            "core/gates.py",
            "elif -gain <= rule.allowed_drop(baseline) + 1e-12:",
            "elif -gain <= rule.allowed_drop(baseline) + 0.05 + 1e-12:",
        )
        project_env.run(["dvc", "repro"], cwd=root)

    def seed(root: Path) -> None:
        set_in_params(root, r"(\n  seed: )\d+", r"\g<1>7")
        project_env.run(["dvc", "repro"], cwd=root)

    for name, change in (
        ("control", control),
        ("forged", forged),
        ("scores", scores),
        ("gates", gates),
        ("seed", seed),
    ):
        made.branch(name, change)
    return made


def test_the_steps_run_are_the_workflows_own(history):
    steps = history.outcomes["control"].steps
    assert steps[0] == "uv sync --locked"
    assert "dvc repro --force --single-item validate evaluate" in " ".join(steps)
    judged = [step for step in steps if "--workspace" in step]
    assert len(judged) == 2 and judged[-1].startswith("uv run --locked mlops gate")


def test_an_unchanged_model_passes_and_is_reproduced(history):
    outcome = history.outcomes["control"]
    assert outcome.gate_code == 0, outcome.gate_output
    assert "### Trusted evaluation" in outcome.report
    assert "- Reproduced: `dvc repro` in CI gave the branch's committed" in outcome.report


def test_forged_metrics_fail_the_gate_and_name_the_file(history):
    outcome = history.outcomes["forged"]
    assert outcome.gate_code == 1, outcome.report
    assert outcome.report.startswith(
        "## ❌ Quality gate failed: the committed `metrics.json` is not what CI recomputed"
    )
    assert "Reproduced:" not in outcome.report


@pytest.mark.parametrize("name", ["scores", "gates"])
def test_changed_judging_code_does_not_change_the_verdict(history, name):
    outcome = history.outcomes[name]
    assert outcome.gate_code == 1, outcome.report
    assert outcome.report.startswith("## ❌ Quality gate failed:"), outcome.report.splitlines()[0]


def test_scores_inflated_by_the_branch_show_beside_the_trusted_ones(history):
    report = history.outcomes["scores"].report
    assert "The branch's own evaluation differs on 5 metrics" in report
    assert "its evaluation code differs from the baseline's" in report
    row = next(line for line in report.splitlines() if line.startswith("| accuracy |"))
    assert row.endswith("| +0.0150 |"), row


def test_another_split_says_the_test_sets_differ(history):
    report = history.outcomes["seed"].report
    assert "The test sets differ" in report
    assert "so the comparison uses `main`'s test rows" in report


@pytest.mark.parametrize(
    ("name", "listed"),
    [
        ("scores", "> - `src/my_ml_project/core/metrics.py`"),
        ("gates", "> - `src/my_ml_project/core/gates.py`"),
        ("seed", "> - `split.seed` in params.yaml: `42` → `7` (which rows are test rows)"),
    ],
)
def test_changes_to_how_branches_are_judged_are_listed_under_the_verdict(history, name, listed):
    lines = history.outcomes[name].report.splitlines()
    assert lines[2] == "> [!IMPORTANT]"
    assert listed in lines
    assert "[!IMPORTANT]" not in history.outcomes["control"].report
