"""A reviewer's adversary against the pull-request gate, run as the workflow runs it.

One baked project, one history: `main` holds the default model (C=1.0) and its results,
and its gates judge by the point rule (`decide: point`): the honest weak model drops
accuracy by two of the 113 test rows, beyond the 0.01 tolerance, which the default
interval rule rightly calls noise (tests/test_noise.py in the project covers that rule);
each branch below starts from it, and is checked by running the `run:` steps of the
baked report workflow's two jobs, in their order and working directories, each job on
its own fresh clone of the branch (a runner's checkout), with GitHub's variables
(RUNNER_TEMP, GITHUB_WORKSPACE, the event) pointing at the test's folders, and the
artifact `build` uploads copied to where `judge` downloads it. Steps that need GitHub
(actions, posting the comment, CML) are left out; the act harness runs the whole file
under a runner.

    control  a README edit: the gate passes (it is not failing everything)
    forged   C=0.01 (an honest fail), metrics.json set to main's passing values and
             its md5 and size fixed in dvc.lock
    scores   C=0.01, and core/metrics.py adds 0.015 to every score
    gates    C=0.01, and core/gates.py widens every allowed drop by 0.05
    seed     split.seed changed: other test rows than main's
    hooked   C=0.01, and evaluate, when it runs, plants a git post-checkout hook that
             would widen the judge's gates as `git worktree add` checks main out
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
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


# Appended to stages/evaluate.py by the `hooked` branch: when evaluate runs, it writes a
# post-checkout hook into the repository's .git; `git worktree add` runs that hook in the
# new worktree, so in a job that checks main out after running the branch's code, the
# hook would widen the allowed drops of main's gates before main's code is installed.
PLANT_HOOK = """
import pathlib as _pathlib

_git = _pathlib.Path(__file__).resolve().parents[3] / ".git"
if _git.is_dir():
    (_git / "hooks").mkdir(exist_ok=True)
    (_git / "hooks" / "post-checkout").write_text({hook!r})
    (_git / "hooks" / "post-checkout").chmod(0o755)
"""
HOOK = """#!/bin/sh
case "$PWD" in
  */base)
    sed -i 's/rule.allowed_drop(baseline) + 1e-12/rule.allowed_drop(baseline) + 0.05 + 1e-12/' \\
      src/*/core/gates.py
    touch "{marker}" ;;
esac
"""


@dataclass
class Outcome:
    report: str
    gate_code: int
    gate_output: str
    steps: list[str]


def workflow_jobs(project: Path) -> dict[str, dict]:
    workflow = yaml.safe_load((project / WORKFLOW).read_text(encoding="utf-8"))
    return workflow["jobs"]


def run_steps(job: dict) -> list[dict]:
    """The `run:` steps of a job, in order (the `uses:` ones set up a runner)."""
    return [
        step
        for step in job["steps"]
        if "run" in step and not any(part in step["run"] for part in NEEDS_GITHUB)
    ]


def artifact_step(job: dict, action: str) -> dict:
    [step] = [step for step in job["steps"] if f"actions/{action}@" in step.get("uses", "")]
    return step["with"]


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
        self.runners: dict[str, Path] = {}

    def git(self, *args: str, cwd: Path | None = None) -> str:
        return self.env.run(["git", *args], cwd=cwd or self.project).stdout.strip()

    def commit(self, message: str) -> None:
        self.git("add", "--all")
        self.git("commit", "--quiet", "-m", message)

    def pull_request(self, name: str) -> Outcome:
        """Run the workflow's two jobs on the checked-out branch, as GitHub would: each on a
        fresh clone (a runner's checkout, with `main` only as `origin/main`)."""
        runner = self.scratch / f"runner-{name}"
        event = runner / "event.json"
        runner.mkdir()
        head = self.git("rev-parse", "HEAD")
        base = self.git("rev-parse", "main")
        event.write_text(
            json.dumps(
                {"pull_request": {"number": 1, "head": {"sha": head}, "base": {"sha": base}}}
            )
        )
        jobs = workflow_jobs(self.project)
        ran: list[str] = []
        finished: dict[str, subprocess.CompletedProcess[str]] = {}
        folders = {}
        for job_name in ("build", "judge"):
            workspace, temp = runner / job_name / "workspace", runner / job_name / "temp"
            temp.mkdir(parents=True)
            self.git("clone", "--quiet", "--no-hardlinks", str(self.project), str(workspace))
            folders[job_name] = (workspace, temp)
        # The artifact: what `build` uploads from its workspace is what `judge` downloads.
        upload = artifact_step(jobs["build"], "upload-artifact")
        download = artifact_step(jobs["judge"], "download-artifact")
        assert upload["name"] == download["name"] and upload["path"] == "."
        for job_name in ("build", "judge"):
            workspace, temp = folders[job_name]
            if job_name == "judge":
                shutil.copytree(
                    folders["build"][0],
                    download["path"].replace("${{ runner.temp }}", str(temp)),
                    ignore=lambda folder, names: [n for n in names if n.startswith(".")],
                    symlinks=True,
                )
            variables = {
                "GITHUB_ACTIONS": "true",
                "GITHUB_EVENT_NAME": "pull_request",
                "GITHUB_EVENT_PATH": str(event),
                "GITHUB_WORKSPACE": str(workspace),
                "GITHUB_OUTPUT": str(temp / "output"),
                "RUNNER_TEMP": str(temp),
            }
            for step in run_steps(jobs[job_name]):
                cwd = Path(
                    step.get("working-directory", str(workspace)).replace(
                        "${{ runner.temp }}", str(temp)
                    )
                )
                step_env = {
                    key: value.replace("${{ github.event.pull_request.base.sha }}", base)
                    for key, value in (step.get("env") or {}).items()
                    if "${{" not in value or "pull_request.base.sha" in value
                }
                ran.append(step["run"])
                result = run(
                    ["bash", "-e", "-c", step["run"]],
                    cwd=cwd,
                    env={**self.env.env, **variables, **step_env},
                    check=False,
                )
                finished[step["run"]] = result
                if "mlops gate" not in step["run"] and result.returncode != 0:
                    pytest.fail(
                        f"{name}: {job_name} step {step.get('name')!r} exited "
                        f"{result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
                    )
        [gate] = [result for command, result in finished.items() if "mlops gate" in command]
        judge_temp = folders["judge"][1]
        report = (judge_temp / "base" / "report.md").read_text(encoding="utf-8")
        self.runners[name] = runner
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

    def hooked(root: Path) -> None:
        set_c(root, WEAK)
        stage = next((root / "src").glob("*/stages/evaluate.py"))
        with stage.open("a", encoding="utf-8") as module:
            module.write(PLANT_HOOK.format(hook=HOOK.format(marker=scratch / "hook-ran")))
        project_env.run(["dvc", "repro"], cwd=root)
        # evaluate planted it in this repository too: its own checkouts must not run it.
        (root / ".git" / "hooks" / "post-checkout").unlink()

    for name, change in (
        ("control", control),
        ("forged", forged),
        ("scores", scores),
        ("gates", gates),
        ("seed", seed),
        ("hooked", hooked),
    ):
        made.branch(name, change)
    return made


def test_the_steps_run_are_the_workflows_own(history):
    steps = history.outcomes["control"].steps
    assert steps[0] == "uv sync --locked"
    assert "dvc repro --force --single-item validate evaluate" in " ".join(steps)
    assert any(step.startswith("uv run --locked mlops take-results") for step in steps)
    judged = [step.split(" ")[4] for step in steps if "--workspace" in step]
    assert judged == ["take-results", "report", "gate"]


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


def test_a_hook_the_branch_plants_never_runs_in_the_judge(history):
    """The branch's code wrote a post-checkout hook in the job that reproduced it; the
    judge is another runner's checkout, so `git worktree add` there runs no hook, main's
    gates judge unwidened, and the weak model fails."""
    runner = history.runners["hooked"]
    planted = runner / "build" / "workspace" / ".git" / "hooks" / "post-checkout"
    assert planted.is_file(), "the branch's evaluate planted its hook where it ran"
    assert not (runner / "judge" / "workspace" / ".git" / "hooks" / "post-checkout").exists()
    assert not (history.scratch / "hook-ran").exists()
    outcome = history.outcomes["hooked"]
    assert outcome.gate_code == 1, outcome.report
    assert outcome.report.startswith("## ❌ Quality gate failed:"), outcome.report.splitlines()[0]
