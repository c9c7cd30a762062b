"""The pull-request report and gate in a real git repository made from a baked project.

History built once for the module, as a team would make it:

    main:  bake (no metrics) --- weak model (C=0.001) --- default model (C=1.0)
    first:  the weak model, branched before main had any metrics
    improve: the default model, branched from the weak main
    regress: the weak model again, branched from the improved main

then shallow and full clones of `regress`, the way CI checks a pull request out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from .conftest import bake

pytestmark = pytest.mark.slow

WEAK, DEFAULT = 0.001, 1.0


@dataclass
class Outcome:
    report: str
    report_stdout: str
    gate_code: int
    gate_stdout: str
    gate_stderr: str


@dataclass
class History:
    project: Path
    env: object
    outcomes: dict[str, Outcome]

    def git(self, *args: str, cwd: Path | None = None) -> str:
        return self.env.run(["git", *args], cwd=cwd or self.project).stdout.strip()


def set_c(project: Path, value: float) -> None:
    path = project / "params.yaml"
    text = path.read_text()
    path.write_text(re.sub(r"(\n      C: )\S+", rf"\g<1>{value}", text, count=1))


def report_and_gate(env, cwd: Path, *extra: str) -> Outcome:
    reported = env.run(["mlops", "report", *extra], cwd=cwd)
    gate = env.run(["mlops", "gate", *extra], cwd=cwd, check=False)
    return Outcome(
        (cwd / "report.md").read_text(encoding="utf-8"),
        reported.stdout,
        gate.returncode,
        gate.stdout,
        gate.stderr,
    )


@pytest.fixture(scope="module")
def history(tmp_path_factory, project_env) -> History:
    project = bake(tmp_path_factory.mktemp("report"), task="classification")
    project_env.install(project)
    run = History(project, project_env, {})
    run.git("config", "user.email", "ci@example.com")
    run.git("config", "user.name", "CI")

    def branch(name: str, c: float) -> None:
        run.git("checkout", "--quiet", "-b", name)
        set_c(project, c)
        project_env.run(["dvc", "repro"], cwd=project)
        run.git("add", "--all")
        run.git("commit", "--quiet", "-m", f"{name}: C={c}")
        run.outcomes[name] = report_and_gate(project_env, project)
        run.git("checkout", "--quiet", "main")
        run.git("merge", "--quiet", "--ff-only", name)

    branch("first", WEAK)
    branch("improve", DEFAULT)
    run.git("checkout", "--quiet", "-b", "regress")
    set_c(project, WEAK)
    project_env.run(["dvc", "repro"], cwd=project)
    run.git("add", "--all")
    run.git("commit", "--quiet", "-m", f"regress: C={WEAK}")
    run.outcomes["regress"] = report_and_gate(project_env, project)
    return run


def check_markdown(markdown: str) -> list[list[str]]:
    """Parse with a CommonMark parser (GitHub's tables on); return each table's header.

    The verdict is a heading; every row of a table has the header's column count
    (checked on the source lines, since parsers pad short rows); every Mermaid
    block is an xychart whose data series have one value per x-axis label.
    """
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    assert tokens[0].type == "heading_open" and tokens[0].map == [0, 1]
    lines = markdown.splitlines()
    headers = []
    for index, token in enumerate(tokens):
        if token.type != "table_open":
            continue
        start, end = token.map
        widths = {len(re.split(r"(?<!\\)\|", lines[n].strip())) - 2 for n in range(start, end)}
        assert len(widths) == 1, f"ragged table at line {start + 1}: {lines[start:end]}"
        header = []
        for inner in tokens[index:]:
            if inner.type == "thead_close":
                break
            if inner.type == "inline":
                header.append(inner.content)
        assert len(header) == widths.pop()
        headers.append(header)
    fences = [t for t in tokens if t.type == "fence"]
    assert markdown.count("```") == 2 * len(fences), "an unclosed code fence"
    for fence in fences:
        assert fence.info == "mermaid"
        body = fence.content
        assert body.splitlines()[0] == "xychart-beta"
        assert body.count("[") == body.count("]") and body.count('"') % 2 == 0
        labels = re.findall(r'"([^"]*)"', re.search(r"x-axis \[(.*)\]", body).group(1))
        series = re.findall(r"^\s*(?:bar|line) \[(.*)\]$", body, flags=re.M)
        assert series and labels
        low, high = (
            float(bound) for bound in re.search(r'y-axis "[^"]*" (\S+) --> (\S+)', body).groups()
        )
        assert low < high
        for values in series:
            numbers = [value.strip() for value in values.split(",")]
            assert len(numbers) == len(labels)
            assert all(re.fullmatch(r"[+-]?(?:\d+(?:\.\d+)?|\.\d+)", n) for n in numbers)
            assert all(low <= float(number) <= high for number in numbers)
    return headers


# The classification gates in params.yaml, in their order there.
GATED = ("roc_auc", "f1", "accuracy")


def metric_rows(markdown: str) -> dict[str, list[str]]:
    """The rows of the report's `### Metrics` table (later sections, the paired intervals
    and the slices, have rows named after the metrics too)."""
    rows = {}
    section = markdown.split("\n### Metrics\n", 1)[1]
    section = re.split(r"\n#{2,3} ", section, maxsplit=1)[0]
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if line.startswith("| ") and cells[0] in {
            "accuracy",
            "f1",
            "roc_auc",
            "precision",
            "recall",
        }:
            rows[cells[0]] = cells
    return rows


def test_first_pull_request_has_no_baseline_and_passes(history):
    outcome = history.outcomes["first"]
    first_line = outcome.report.splitlines()[0]
    assert first_line.startswith("## ✅ Quality gate passed: `main` has no metrics yet")
    assert outcome.gate_code == 0
    assert "sets the first baseline" in outcome.report
    assert check_markdown(outcome.report)[0] == ["metric", "branch", "rule"]


def test_an_improvement_is_reported_and_passes(history):
    outcome = history.outcomes["improve"]
    assert outcome.gate_code == 0, outcome.gate_stderr
    first_line = outcome.report.splitlines()[0]
    assert first_line.startswith("## ✅ Quality gate passed against `main`")
    rows = metric_rows(outcome.report)
    assert rows["accuracy"][5] == "🟢 improved" and float(rows["accuracy"][2]) > float(
        rows["accuracy"][1]
    )
    headers = check_markdown(outcome.report)
    assert headers[0] == ["metric", "main", "branch", "change", "relative", "verdict", "rule"]
    assert "| `model.hyperparameters.logistic_regression.C` | `0.001` | `1.0` |" in outcome.report
    assert "`data/raw/data.parquet`: unchanged (md5 `" in outcome.report
    validated = r"Data validation ✅: suite `breast_cancer`, all \d+ expectations met"
    assert re.search(validated, outcome.report)
    assert "1 commit ahead" in outcome.report
    assert re.search(r"MLflow run `[0-9a-f]{32}` \(experiment `my-ml-project`\)", outcome.report)
    assert outcome.report.count("```mermaid") == 2


def test_a_regression_fails_the_gate_and_names_the_metric(history):
    outcome = history.outcomes["regress"]
    assert outcome.gate_code == 1
    first_line = outcome.report.splitlines()[0]
    rows = metric_rows(outcome.report)
    # The headline names exactly the gated metrics whose row says they regressed.
    regressed = [name for name in GATED if "regressed" in " ".join(rows[name]).lower()]
    assert "f1" in regressed and "accuracy" in regressed
    named = ", ".join(f"`{name}`" for name in regressed)
    assert (
        first_line
        == f"## ❌ Quality gate failed: {named} regressed beyond tolerance against `main`"
    )
    assert outcome.gate_stdout.startswith("❌ Quality gate failed")
    explained = f"f1 regressed: {rows['f1'][1]} -> {rows['f1'][2]} (higher is better, tolerance"
    assert explained in outcome.gate_stderr
    assert explained in outcome.report
    check_markdown(outcome.report)


def test_charts_are_written_for_the_artifact_and_not_linked_by_default(history):
    charts = history.project / "reports" / "pr"
    for name in ("metrics.png", "change.png"):
        assert (charts / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "![" not in history.outcomes["regress"].report
    assert "report.md" in (history.project / ".gitignore").read_text()
    assert history.git("status", "--porcelain") == ""


def test_a_shallow_clone_needs_the_baseline_fetched_and_then_agrees(history, tmp_path):
    clone = tmp_path / "shallow"
    source = history.project.as_uri()
    history.git("clone", "--quiet", "--depth=1", "--branch=regress", source, str(clone))
    assert history.git("rev-parse", "--is-shallow-repository", cwd=clone) == "true"

    missing = history.env.run(["mlops", "report"], cwd=clone, check=False)
    assert missing.returncode == 2
    assert "the baseline revision 'main' is not in this clone" in missing.stderr
    assert "`git fetch origin main:main`" in missing.stderr

    history.git("fetch", "--quiet", "--depth=1", "origin", "main:main", cwd=clone)
    # The outputs are not in git: refused until the pipeline ran here, as in the workflow.
    unrun = history.env.run(["mlops", "gate"], cwd=clone, check=False)
    assert unrun.returncode == 2 and "run `dvc repro`" in unrun.stderr
    history.env.run(["dvc", "repro"], cwd=clone)
    outcome = report_and_gate(history.env, clone)
    assert outcome.gate_code == 1 and "f1 regressed" in outcome.gate_stderr
    main = history.git("rev-parse", "main")
    assert f"against `main` `{main[:8]}`." in outcome.report  # no commit count when shallow
    assert metric_rows(outcome.report) == metric_rows(history.outcomes["regress"].report)


def test_a_full_clone_uses_origin_main_as_the_workflow_does(history, tmp_path):
    clone = tmp_path / "full"
    history.git("clone", "--quiet", "--branch=regress", history.project.as_uri(), str(clone))
    history.env.run(["dvc", "repro"], cwd=clone)
    outcome = report_and_gate(history.env, clone)
    assert "against `origin/main`" in outcome.report.splitlines()[0]
    assert outcome.gate_code == 1


def test_an_unknown_baseline_names_the_fetch(history):
    result = history.env.run(
        ["mlops", "gate", "--baseline", "release"], cwd=history.project, check=False
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: the baseline revision 'release' is not in this clone")
    assert "git fetch origin release:release" in result.stderr


def set_tolerances(project: Path, value: float) -> None:
    """Every `abs_tolerance` under `gates:` in params.yaml becomes `value` (a branch's edit)."""
    path = project / "params.yaml"
    text, count = re.subn(r"(abs_tolerance: )[0-9.]+", rf"\g<1>{value}", path.read_text())
    assert count == 5  # the five classification gates
    path.write_text(text)


def loosen_suite(project: Path) -> None:
    """Widen one bound and drop one null check of the shipped breast_cancer suite."""
    path = project / "gx" / "expectations" / "breast_cancer.json"
    suite = json.loads(path.read_text())
    kept = []
    for expectation in suite["expectations"]:
        kwargs = expectation["kwargs"]
        if kwargs.get("column") == "mean_texture" and expectation["type"].endswith("not_be_null"):
            continue
        if kwargs.get("column") == "mean_radius" and "max_value" in kwargs:
            kwargs["max_value"] = 300
        kept.append(expectation)
    assert len(kept) == len(suite["expectations"]) - 1
    path.write_text(json.dumps({**suite, "expectations": kept}, indent=2))


# The shipped f1 rule also has an absolute floor (for a new data set; see params.yaml).
F1_FLOOR = ", floor: at least 0.5"


def test_a_pull_request_is_judged_by_the_rules_of_main(history):
    """A branch cannot pass by loosening its own rules; a tightened rule waits for the
    merge; a loosened data suite is listed; a new metric is judged by its own rule."""
    project, env = history.project, history.env
    f1 = metric_rows(history.outcomes["regress"].report)["f1"]

    def commit_branch(name: str, start: str, *edits) -> Outcome:
        history.git("checkout", "--quiet", "-b", name, start)
        for edit in edits:
            edit()
        env.run(["dvc", "repro"], cwd=project)
        history.git("add", "--all")
        history.git("commit", "--quiet", "-m", name)
        return report_and_gate(env, project)

    try:
        # The worse model of `regress`, with every tolerance raised to 1 and a looser suite.
        loose = commit_branch(
            "loosen", "regress", lambda: set_tolerances(project, 1.0), lambda: loosen_suite(project)
        )
        first_line = loose.report.splitlines()[0]
        assert loose.gate_code == 1, loose.gate_stdout
        assert first_line.startswith("## ❌ Quality gate failed: ")
        assert first_line.endswith("(judged by `main`'s rules; the branch changes 5 rules)")
        rules = loose.report.index("### Gate rules changed by this branch")
        data = loose.report.index("### Data expectations changed by this branch")
        assert rules < data < loose.report.index("### Metrics")
        assert (
            f"| `f1` | higher is better, tolerance 0.01{F1_FLOOR} | higher is better, tolerance 1"
            f"{F1_FLOOR} | ⚠️ loosened |" in loose.report
        )
        # The data section: the dropped null check and the widened bound, under a warning.
        assert (
            "2 expectations of `gx/expectations/breast_cancer.json` accept data that "
            "`main`'s suite refuses" in loose.report
        )
        assert (
            "| ⚠️ removed | `column_values_to_not_be_null` | `mean_texture` "
            "| the column may now be null |" in loose.report
        )
        assert re.search(
            r"\| ⚠️ loosened \| `column_values_to_be_between` \| `mean_radius` "
            r"\| max_value [0-9.]+ -> 300 \(wider\) \|",
            loose.report,
        )
        explained = f"f1 regressed: {f1[1]} -> {f1[2]} (higher is better, tolerance 0.01{F1_FLOOR})"
        assert explained in loose.gate_stderr
        assert (
            f"  - f1: higher is better, tolerance 0.01{F1_FLOOR} -> higher is better, tolerance 1"
            f"{F1_FLOOR} (loosened)" in loose.gate_stderr
        )
        check_markdown(loose.report)

        # The same worse model with every tolerance tightened to 0: judged by main's 0.01.
        tight = commit_branch("tighten", "regress", lambda: set_tolerances(project, 0.0))
        assert tight.gate_code == 1
        assert tight.report.splitlines()[0].endswith("the branch changes 5 rules)")
        assert (
            f"| `f1` | higher is better, tolerance 0.01{F1_FLOOR} | higher is better{F1_FLOOR} "
            "| tightened |" in tight.report
        )
        assert explained in tight.gate_stderr
        assert "Data expectations changed" not in tight.report

        # From main (the good model): a new metric, computed by the code, with its own rule.
        def add_metric() -> None:
            metrics = next(project.glob("src/*/core/metrics.py"))
            code, count = re.subn(
                r'(\n(\s+)"roc_auc": roc_auc,\n)',
                r'\1\2"balanced_accuracy": skm.balanced_accuracy_score(y_true, y_pred),\n',
                metrics.read_text(),
            )
            assert count == 1
            metrics.write_text(code)
            params = project / "params.yaml"
            text = params.read_text().replace(
                "\ngates:\n",
                "\ngates:\n  balanced_accuracy: {direction: higher, abs_tolerance: 0.01}\n",
            )
            params.write_text(text)

        new = commit_branch("new-metric", "main", add_metric)
        assert new.gate_code == 0, new.gate_stderr
        first_line = new.report.splitlines()[0]
        assert first_line.startswith("## ✅ Quality gate passed against `main`")
        assert first_line.endswith("(judged by `main`'s rules; the branch changes 1 rule)")
        row = metric_rows_of(new.report, "balanced_accuracy")
        assert row[5] == "🆕 new"
        assert row[6] == "higher is better, tolerance 0.01 (the branch's new rule)"
        assert "| `balanced_accuracy` | *(no rule)* | higher is better, tolerance 0.01 " in (
            new.report
        )
        assert "  - balanced_accuracy: no rule -> higher is better, tolerance 0.01 (added)" in (
            new.gate_stderr
        )
    finally:
        history.git("checkout", "--quiet", "--force", "regress")
        env.run(["dvc", "checkout", "--force"], cwd=project, check=False)


def metric_rows_of(markdown: str, name: str) -> list[str]:
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if line.startswith("| ") and cells[0] == name:
            return cells
    raise AssertionError(f"no row for {name}")


def test_a_stale_workspace_is_refused_and_only_a_rerun_is_called_reproduced(history):
    """Params committed without `dvc repro`: the report and the gate refuse to judge it,
    as `mlops deploy --check` does; "Reproduced" is said only when stages ran here."""
    project, env = history.project, history.env
    # Reported after the commit with no stage run since: matched, not reproduced.
    matched = history.outcomes["improve"].report
    assert "- Not reproduced here: the outputs match the branch's committed `dvc.lock`" in matched
    assert "Reproduced" not in matched
    # Every stage rerun here gives the committed bytes again: reproduced.
    env.run(["dvc", "repro", "--force"], cwd=project)
    rerun = report_and_gate(env, project)
    assert "- Reproduced: `dvc repro` here gave the branch's committed `dvc.lock`" in rerun.report
    try:
        history.git("checkout", "--quiet", "-b", "stale", "regress")
        set_c(project, 0.5)
        history.git("commit", "--quiet", "-am", "C=0.5 without dvc repro")
        for command in ("report", "gate"):
            refused = env.run(["mlops", command], cwd=project, check=False)
            assert refused.returncode == 2, refused.stdout
            lines = refused.stderr.strip().splitlines()
            assert len(lines) == 1, refused.stderr
            assert "does not match dvc.lock: stage 'train'" in lines[0]
            assert "run `dvc repro`" in lines[0]
    finally:
        history.git("checkout", "--quiet", "--force", "regress")
        env.run(["dvc", "checkout", "--force"], cwd=project, check=False)
