import json
import re
import subprocess

import pytest
import yaml

from {{ cookiecutter.package_name }}.commands import gate, report
from {{ cookiecutter.package_name }}.commands.gate import run as run_gate
from {{ cookiecutter.package_name }}.commands.report import gather
from {{ cookiecutter.package_name }}.commands.report import run as run_report
from {{ cookiecutter.package_name }}.core.dotted import numbers
from {{ cookiecutter.package_name }}.core.gates import MetricRule, rule_changes
from {{ cookiecutter.package_name }}.core.report import Inputs, Snapshot, changed_params, render, verdict
from {{ cookiecutter.package_name }}.core.suite_diff import ExpectationChange, SuiteDiff
from {{ cookiecutter.package_name }}.errors import ParamsError, ProjectError
from {{ cookiecutter.package_name }}.integrations.dvc import lock_outputs
from {{ cookiecutter.package_name }}.integrations.git import GitError
from {{ cookiecutter.package_name }}.params import load_params

RULES = {
    "f1": MetricRule("higher", abs_tolerance=0.01),
    "rmse": MetricRule("lower", rel_tolerance=0.02),
}
# A number as Mermaid's xychart grammar reads it: no exponent notation.
MERMAID_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d+)?|\.\d+)")
LOCK = {"stages": {"ingest": {"outs": [{"path": "data/raw/data.parquet", "md5": "a" * 32}]}}}
PARAMS = {"model": {"type": "ridge", "hyperparameters": {"ridge": {"alpha": 1.0}}}}


def snapshot(label, metrics, params=PARAMS, lock=LOCK, commit="0" * 40):
    return Snapshot(label, commit, metrics, params, lock_outputs(lock))


def inputs(base_metrics, branch_metrics, **extra):
    return Inputs(
        baseline=snapshot("main", base_metrics, extra.pop("base_params", PARAMS)),
        branch=snapshot("branch", branch_metrics, extra.pop("branch_params", PARAMS)),
        rules=extra.pop("rules", RULES),
        data_path="data/raw/data.parquet",
        **extra,
    )


def check_markdown(markdown: str) -> None:
    """Tables keep one column count; Mermaid blocks are fenced xycharts whose series fit."""
    lines = markdown.splitlines()
    table: list[int] = []
    for line in [*lines, ""]:
        if line.startswith("|"):
            table.append(len(re.split(r"(?<!\\)\|", line.strip())) - 2)
        elif table:
            assert len(set(table)) == 1, f"ragged table: {table}"
            table = []
    blocks = re.findall(r"```mermaid\n(.*?)\n```", markdown, flags=re.S)
    assert markdown.count("```mermaid") == len(blocks)
    for block in blocks:
        body = block.splitlines()
        assert body[0] == "xychart-beta"
        assert block.count("[") == block.count("]") and block.count('"') % 2 == 0
        labels = re.search(r"x-axis \[(.*)\]", block).group(1)
        width = len(re.findall(r'"[^"]*"', labels))
        low, high = re.search(r"y-axis \"[^\"]*\" (\S+) --> (\S+)", block).groups()
        assert MERMAID_NUMBER.fullmatch(low) and MERMAID_NUMBER.fullmatch(high)
        assert float(low) < float(high)
        for series in re.findall(r"(?:bar|line) \[(.*)\]", block):
            values = [value.strip() for value in series.split(",")]
            assert len(values) == width
            assert all(MERMAID_NUMBER.fullmatch(value) for value in values), values
            assert all(float(low) <= float(value) <= float(high) for value in values)


def test_improvement_passes_and_says_so_first():
    report = inputs({"f1": 0.90, "rmse": 50.0}, {"f1": 0.95, "rmse": 45.0})
    markdown = render(report)
    assert markdown.startswith("## ✅ Quality gate passed against `main`")
    assert "2 of 2 metrics improved" in markdown.splitlines()[0]
    assert "| f1 | 0.9000 | 0.9500 | +0.0500 | +5.56% | 🟢 improved |" in markdown
    assert "```mermaid" in markdown
    check_markdown(markdown)


def test_regression_fails_and_names_metric_values_and_rule():
    report = inputs({"f1": 0.90, "rmse": 50.0}, {"f1": 0.85, "rmse": 50.5})
    passed, first_line = verdict(report)
    assert not passed
    assert first_line == "## ❌ Quality gate failed: `f1` regressed beyond tolerance against `main`"
    markdown = render(report)
    assert "- f1 regressed: 0.9000 -> 0.8500 (higher is better, tolerance 0.01)" in markdown
    assert "🟡 within tolerance" in markdown  # rmse: +1% within its 2%
    check_markdown(markdown)


def test_first_pull_request_has_no_baseline_and_passes():
    report = inputs(None, {"f1": 0.9})
    passed, first_line = verdict(report)
    assert passed and "has no metrics yet" in first_line and "first pull request" in first_line
    markdown = render(report)
    assert "| f1 | 0.9000 | higher is better, tolerance 0.01 |" in markdown
    check_markdown(markdown)


def test_identical_results_have_no_chart():
    markdown = render(inputs({"f1": 0.9}, {"f1": 0.9}))
    assert markdown.startswith("## ✅ Quality gate passed: every metric is identical to `main`")
    assert "mermaid" not in markdown
    assert "No parameter differs from `main`." in markdown


def test_new_and_removed_metrics_are_shown_and_never_fail():
    markdown = render(inputs({"f1": 0.9, "old": 1.0}, {"f1": 0.9, "brand_new": 2.0}))
    assert markdown.startswith("## ✅")
    assert "| old | 1.0000 | n/a | n/a | n/a | ⚫ removed |" in markdown
    assert "| brand_new | n/a | 2.0000 | n/a | n/a | 🆕 new |" in markdown
    check_markdown(markdown)


def test_a_missing_gated_metric_fails_and_is_named_beside_regressions():
    rules = {"f1": MetricRule("higher", abs_tolerance=0.01), "auc": MetricRule("higher")}
    markdown = render(inputs({"f1": 0.9, "auc": 0.95}, {"f1": 0.5}, rules=rules))
    assert markdown.splitlines()[0] == (
        "## ❌ Quality gate failed: `f1` regressed beyond tolerance and `auc` missing "
        "against `main`"
    )
    assert "| auc | 0.9500 | n/a | n/a | n/a | 🔴 missing (gated) |" in markdown
    check_markdown(markdown)


def test_changed_params_are_flattened_and_gate_edits_are_flagged():
    new = {
        "model": {"type": "ridge", "hyperparameters": {"ridge": {"alpha": 0.1}}},
        "gates": {"f1": {"abs_tolerance": 0.5}},
    }
    assert changed_params(PARAMS, new)[1][0] == "model.hyperparameters.ridge.alpha"
    markdown = render(inputs({"f1": 0.9}, {"f1": 0.9}, branch_params=new))
    assert "| `model.hyperparameters.ridge.alpha` | `1.0` | `0.1` |" in markdown
    assert "| `gates.f1.abs_tolerance` | *(absent)* | `0.5` |" in markdown
    assert "changes the gate rules" in markdown
    check_markdown(markdown)


def test_data_digest_and_validation_failures():
    assert lock_outputs(LOCK)["data/raw/data.parquet"] == "a" * 32
    assert lock_outputs(None) == {}
    validation = {
        "success": False,
        "suite": "raw",
        "evaluated": 12,
        "failed": 1,
        "failures": [
            {
                "expectation": "expect_column_values_to_be_between",
                "column": "age",
                "expected": "0 <= x <= 120",
                "observed": "3 values | out of range",
                "unexpected_values": [130, -1],
            }
        ],
    }
    markdown = render(inputs({"f1": 0.9}, {"f1": 0.9}, validation=validation))
    assert "Data validation ❌: suite `raw`, 1 of 12 expectations failed." in markdown
    assert "3 values \\| out of range" in markdown
    assert "`data/raw/data.parquet`: unchanged" in markdown
    check_markdown(markdown)
    assert "no validation result" in render(inputs({"f1": 0.9}, {"f1": 0.9}))


def test_nested_metrics_are_flattened():
    assert numbers({"a": 1, "b": {"c": 2.5, "d": "x"}, "e": True}) == {"a": 1.0, "b.c": 2.5}


def git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)


@pytest.fixture
def repository(write_params, tmp_path):
    """A git repository whose main holds metrics.json; the workspace is a branch off it."""
    params_path = write_params()
    git(tmp_path, "init", "--quiet", "--initial-branch=main")
    git(tmp_path, "config", "user.email", "test@example.com")
    git(tmp_path, "config", "user.name", "test")
    params = load_params(params_path)
    baseline = {name: 0.9 for name in params.gates}  # above the shipped floors
    params.paths.metrics.write_text(json.dumps(baseline))
    git(tmp_path, "add", "params.yaml", "metrics.json")
    git(tmp_path, "commit", "--quiet", "-m", "baseline")
    git(tmp_path, "checkout", "--quiet", "-b", "change")
    return params


def test_gather_reads_the_baseline_from_git(repository):
    worse = {name: 0.8 for name in repository.gates}  # regressed, above the floors
    repository.paths.metrics.write_text(json.dumps(worse))
    report = gather(repository, None)
    assert report.baseline.label == "main" and report.baseline.metrics
    assert report.branch.dirty
    assert not verdict(report)[0]
    git(repository.root, "commit", "--quiet", "-am", "worse")
    assert run_gate(repository, gate.Options(baseline=None)) == 1
    # Against itself the branch is unchanged, yet its own history released 0.9 before:
    # the anchor (the best release on the baseline's history) catches the slide.
    assert run_gate(repository, gate.Options(baseline="change")) == 1


def test_a_missing_baseline_says_how_to_fetch_it(repository):
    with pytest.raises(GitError, match=r"`git fetch origin release:release`"):
        gather(repository, "release")


def test_report_writes_markdown_charts_and_the_job_summary(repository, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    outputs = tmp_path / "outputs.txt"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    assert run_report(repository, report.Options(baseline=None, output=None)) == 0
    # The CML workflow installs CML only when the report has charts for it to upload.
    assert outputs.read_text(encoding="utf-8") == "publish_images=false\n"
    markdown = repository.paths.report.read_text(encoding="utf-8")
    assert markdown.startswith("## ✅ Quality gate passed: every metric is identical to `main`")
    assert summary.read_text(encoding="utf-8") == "earlier step\n" + markdown + "\n"
    assert (repository.paths.report_plots / "metrics.png").read_bytes()[:4] == b"\x89PNG"
    assert "![" not in markdown
    assert "- MLflow: no training run recorded in this workspace." in markdown
    repository.paths.train_run.parent.mkdir(parents=True)
    repository.paths.train_run.write_text(json.dumps({"run_id": "abc", "experiment": "e"}))
    assert run_report(repository, report.Options(baseline=None, output=None)) == 0
    markdown = repository.paths.report.read_text(encoding="utf-8")
    assert "MLflow run `abc` (experiment `e`) in `sqlite:///mlflow.db (this checkout's store)`" in (
        markdown
    )


def test_published_images_are_linked_from_the_report():
    markdown = render(inputs({"f1": 0.9}, {"f1": 0.95}, images=("reports/pr/metrics.png",)))
    assert "![metrics](reports/pr/metrics.png)" in markdown


def test_chart_numbers_never_use_exponents():
    report = inputs({"f1": 0.00001, "rmse": 0.00002}, {"f1": 0.9, "rmse": 0.00001})
    markdown = render(report)
    assert "e-0" not in markdown.split("### Parameters")[0].split("```mermaid", 1)[1]
    check_markdown(markdown)


def test_changed_rules_are_listed_first_and_named_in_the_headline():
    loose = MetricRule("higher", abs_tolerance=1.0)
    branch_rules = {"f1": loose, "auc": MetricRule("higher")}  # rmse's rule removed
    changes = tuple(rule_changes(RULES, branch_rules))
    assert [(c.name, c.kind) for c in changes] == [
        ("f1", "loosened"),
        ("rmse", "removed"),
        ("auc", "added"),
    ]
    judged_by = {**RULES, "auc": MetricRule("higher")}
    report = inputs(
        {"f1": 0.9, "rmse": 50.0},
        {"f1": 0.6, "rmse": 50.0, "auc": 0.7},
        rules=judged_by,
        rule_changes=changes,
    )
    markdown = render(report)
    first_line = markdown.splitlines()[0]
    assert first_line == (
        "## ❌ Quality gate failed: `f1` regressed beyond tolerance against `main` "
        "(judged by `main`'s rules; the branch changes 3 rules)"
    )
    rules = markdown.index("### Gate rules changed by this branch")
    assert rules < markdown.index("### Metrics")
    assert (
        "| `f1` | higher is better, tolerance 0.01 | higher is better, tolerance 1 "
        "| ⚠️ loosened |" in markdown
    )
    assert "| `rmse` | lower is better, tolerance 2.0% of the baseline | *(no rule)* |" in markdown
    assert "| `auc` | *(no rule)* | higher is better | 🆕 added: judges this branch |" in markdown
    assert "2 of them would let a worse model pass once merged" in markdown
    assert (
        "| auc | n/a | 0.7000 | n/a | n/a | 🆕 new | higher is better (the branch's new rule) |"
        in (markdown)
    )
    check_markdown(markdown)
    # The same results with unchanged rules: no section, no note.
    plain = render(inputs({"f1": 0.9, "rmse": 50.0}, {"f1": 0.6, "rmse": 50.0}))
    assert "Gate rules" not in plain and "judged by" not in plain


def test_without_rules_at_the_baseline_the_branch_rules_judge_and_it_says_so():
    note = "`main` has no `gates` in params.yaml"
    markdown = render(inputs({"f1": 0.9}, {"f1": 0.95}, rules_fallback=note))
    assert markdown.splitlines()[0].endswith(f"(judged by the branch's own rules: {note})")
    assert "> This branch is judged by its own `gates` in params.yaml: " + note in markdown


def test_loosened_expectations_are_flagged_before_the_metrics():
    diff = SuiteDiff(
        "gx/expectations/s.json",
        "gx/expectations/s.json",
        (
            ExpectationChange("added", "expect_column_values_to_be_in_set", "c", ()),
            ExpectationChange(
                "loosened",
                "expect_column_values_to_be_between",
                "a",
                ("max_value 10 -> 100 (wider)",),
            ),
            ExpectationChange(
                "removed",
                "expect_column_values_to_not_be_null",
                "b",
                ("the column may now be null",),
            ),
        ),
    )
    markdown = render(inputs({"f1": 0.9}, {"f1": 0.9}, suite_diff=diff))
    section = markdown.index("### Data expectations changed by this branch")
    assert section < markdown.index("### Metrics")
    assert "2 expectations of `gx/expectations/s.json` accept data that `main`'s suite" in markdown
    rows = [line for line in markdown[section:].splitlines() if line.startswith("| ")][2:]
    assert rows[0] == (
        "| ⚠️ removed | `column_values_to_not_be_null` | `b` | the column may now be null |"
    )
    assert rows[1] == (
        "| ⚠️ loosened | `column_values_to_be_between` | `a` | max_value 10 -> 100 (wider) |"
    )
    assert rows[2].startswith("| 🆕 added |")
    check_markdown(markdown)
    unchanged = SuiteDiff("gx/expectations/s.json", "gx/expectations/s.json", ())
    assert "Data expectations" not in render(inputs({"f1": 0.9}, {"f1": 0.9}, suite_diff=unchanged))


def write_gates(params, gates):
    """Rewrite `gates:` in the workspace's params.yaml (a branch's edit)."""
    path = params.root / "params.yaml"
    document = yaml.safe_load(path.read_text())
    document["gates"] = gates
    path.write_text(yaml.safe_dump(document))
    return load_params(path)


def test_the_gate_judges_by_the_baseline_rules_not_the_branch_ones(repository, capsys):
    # The baseline `change` commits one rule and its metric.
    committed = write_gates(repository, {"f1": {"direction": "higher", "abs_tolerance": 0.01}})
    committed.paths.metrics.write_text(json.dumps({"f1": 0.9}))
    git(repository.root, "commit", "--quiet", "-am", "f1 only")
    # The branch is much worse, loosens f1's rule and adds a metric with a rule of its own.
    branch = write_gates(
        repository,
        {"f1": {"direction": "higher", "abs_tolerance": 1.0}, "brier": {"direction": "lower"}},
    )
    branch.paths.metrics.write_text(json.dumps({"f1": 0.5, "brier": 0.2}))
    report = gather(branch, "change")
    assert report.rules == {
        "f1": MetricRule("higher", abs_tolerance=0.01),
        "brier": MetricRule("lower"),
    }
    assert run_gate(branch, gate.Options(baseline="change")) == 1
    out, err = capsys.readouterr()
    assert out.startswith(
        "❌ Quality gate failed: `f1` regressed beyond tolerance against `change`"
    )
    assert "(judged by `change`'s rules; the branch changes 2 rules)" in out
    assert (
        "  - f1: higher is better, tolerance 0.01 -> higher is better, tolerance 1 (loosened)"
        in err
    )
    assert "  - brier: no rule -> lower is better (added)" in err
    assert "These metrics fail their rule in params.yaml `gates` at `change`:" in err
    assert "  - f1 regressed: 0.9000 -> 0.5000 (higher is better, tolerance 0.01)" in err
    assert "brier" not in err.split("These metrics fail")[1]
    # Its own rules would have passed it: they are not the ones it is judged by.
    own = Inputs(**{**report.__dict__, "rules": branch.gates, "rule_changes": ()})
    assert verdict(own)[0]


def test_malformed_baseline_gates_are_one_clear_error(repository):
    path = repository.root / "params.yaml"
    document = yaml.safe_load(path.read_text())
    document["gates"] = {"f1": {"direction": "up"}}
    path.write_text(yaml.safe_dump(document))
    git(repository.root, "commit", "--quiet", "-am", "bad gates")
    with pytest.raises(ParamsError, match=r"^params.yaml at change: `gates.f1.direction` is 'up'"):
        gather(repository, "change")


def test_a_baseline_without_gates_is_judged_by_the_branch_rules(repository):
    path = repository.root / "params.yaml"
    document = yaml.safe_load(path.read_text())
    del document["gates"]
    path.write_text(yaml.safe_dump(document))
    git(repository.root, "commit", "--quiet", "-am", "no gates")
    path.write_text(yaml.safe_dump({**document, "gates": repository.raw["gates"]}))
    report = gather(load_params(path), "change")
    assert report.rules_fallback == "`change` has no `gates` in params.yaml"
    assert report.rules == repository.gates and report.rule_changes == ()


def test_a_loosened_suite_at_the_branch_is_listed(repository):
    suite_path = repository.suite_path
    suite_path.parent.mkdir(parents=True)
    bounds = {"column": "a", "min_value": 0, "max_value": 10}
    between = {"type": "expect_column_values_to_be_between", "kwargs": bounds}
    suite_path.write_text(json.dumps({"name": "s", "expectations": [between]}))
    git(repository.root, "add", str(suite_path))
    git(repository.root, "commit", "--quiet", "-m", "suite")
    assert gather(repository, "change").suite_diff.changes == ()
    wider = {**between, "kwargs": {**bounds, "max_value": 1000}}
    suite_path.write_text(json.dumps({"name": "s", "expectations": [wider]}))
    diff = gather(repository, "change").suite_diff
    assert [(c.kind, c.column, c.details) for c in diff.changes] == [
        ("loosened", "a", ("max_value 10 -> 1000 (wider)",))
    ]
    assert gather(repository, "main").suite_diff.baseline_missing


def test_a_new_data_set_is_named_in_the_headline_and_judged_by_the_baselines_floors():
    floors = {
        "f1": MetricRule("higher", abs_tolerance=0.01, minimum=0.6),
        "rmse": MetricRule("lower", rel_tolerance=0.02, maximum=60.0),
    }
    change = ("target `y` -> `churned`", "data suite `demo` -> `customers`")
    # 0.7 is far below main's 0.95, but main's 0.95 is on other data: the floors judge.
    report = inputs(
        {"f1": 0.95, "rmse": 10.0},
        {"f1": 0.7, "rmse": 55.0},
        data_set_changes=change,
        baseline_rules=floors,
    )
    passed, line = verdict(report)
    assert passed and line.startswith("## ✅ Quality gate passed on a new data set: 2 metrics")
    assert "target `y` -> `churned`; data suite `demo` -> `customers`" in line
    markdown = render(report)
    assert "### New data set" in markdown and "`mlops deploy --new-data-set`" in markdown
    assert "| f1 | 0.9500 | 0.7000 | at least 0.6 | 🟢 meets its floor |" in markdown
    check_markdown(markdown)
    below = inputs(
        {"f1": 0.95, "rmse": 10.0},
        {"f1": 0.5, "rmse": 55.0},
        data_set_changes=change,
        baseline_rules=floors,
    )
    passed, line = verdict(below)
    assert not passed and "`f1` below the floors of `main`'s `gates`" in line
    # Floors only the branch sets (rules of metrics main has no rule for) never count.
    none = inputs(
        {"f1": 0.95},
        {"f1": 0.9, "new": 1.0},
        rules={**RULES, "new": MetricRule("higher", minimum=0.0)},
        data_set_changes=change,
        baseline_rules=RULES,
    )
    passed, line = verdict(none)
    assert not passed and "set no floor (`min`/`max`) to judge it by" in line


def test_gather_sees_another_target_as_a_new_data_set(repository):
    moved = yaml.safe_load((repository.root / "params.yaml").read_text(encoding="utf-8"))
    moved["data"]["target"] = "churned"
    (repository.root / "params.yaml").write_text(yaml.safe_dump(moved), encoding="utf-8")
    params = load_params(repository.root / "params.yaml")
    report = gather(params, None)
    assert report.data_set_changes[0].startswith("target `")
    assert report.data_set_changes[0].endswith("-> `churned`")
    assert gather(repository, None).data_set_changes == ()


def test_report_and_gate_refuse_metrics_that_dvc_lock_does_not_record(repository):
    lock = {"stages": {"evaluate": {"outs": [{"path": "metrics.json", "md5": "0" * 32}]}}}
    (repository.root / "dvc.lock").write_text(yaml.safe_dump(lock), encoding="utf-8")
    with pytest.raises(ProjectError, match=r"metrics.json does not match .* run `dvc repro`"):
        run_gate(repository, gate.Options(baseline=None))
    with pytest.raises(ProjectError, match=r"metrics.json does not match"):
        run_report(repository, report.Options(baseline=None, output=None))


def test_a_floor_holds_on_the_same_data_set_too():
    """r2 improved 0.05 -> 0.089 but main's floor is 0.2: the branch fails, as it would
    on a new data set, and the report says where the floor comes from."""
    rules = {"r2": MetricRule("higher", abs_tolerance=0.01, minimum=0.2)}
    report = inputs({"r2": 0.05}, {"r2": 0.089}, rules=rules)
    passed, first_line = verdict(report)
    assert not passed
    assert first_line == (
        "## ❌ Quality gate failed: `r2` below the floor of its rule against `main`"
    )
    markdown = render(report)
    assert "floor: at least 0.2 (floor from `main`'s params.yaml)" in markdown
    assert (
        "- r2 below its floor: 0.0500 -> 0.0890 (floor: at least 0.2; a floor holds on every "
        "branch, whatever the change against the baseline)" in markdown
    )
    above = inputs({"r2": 0.25}, {"r2": 0.3}, rules=rules)
    assert verdict(above)[0]
