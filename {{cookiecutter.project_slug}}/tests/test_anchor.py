"""No slow slide: the gate also judges a branch against an anchor that does not move with
every merge (the best release on `main`'s history, or production in the registry)."""

import json
import subprocess

import pytest
import yaml

from {{ cookiecutter.package_name }}.commands import gate
from {{ cookiecutter.package_name }}.commands import report as report_command
from {{ cookiecutter.package_name }}.commands.gate import run as run_gate
from {{ cookiecutter.package_name }}.commands.report import gather
from {{ cookiecutter.package_name }}.core.anchor import Release, best_releases
from {{ cookiecutter.package_name }}.core.gates import MetricRule
from {{ cookiecutter.package_name }}.core.report import render, verdict
from {{ cookiecutter.package_name }}.io import file_md5
from {{ cookiecutter.package_name }}.params import load_params


def git(root, *args):
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def stepped(params, steps: float) -> dict[str, float]:
    """Every gated metric `steps` times 70% of its allowed drop worse than 0.9."""
    metrics = {}
    for name, rule in params.gates.items():
        value = 0.9
        for _ in range(int(steps)):
            drop = 0.7 * rule.allowed_drop(value)
            value = value - drop if rule.direction == "higher" else value + drop
        metrics[name] = round(value, 6)
    return metrics


def commit_metrics(params, metrics: dict[str, float], message: str) -> None:
    params.paths.metrics.write_text(json.dumps(metrics))
    (params.root / "dvc.lock").write_text(
        yaml.safe_dump(
            {
                "schema": "2.0",
                "stages": {
                    "evaluate": {
                        "outs": [{"path": "metrics.json", "md5": file_md5(params.paths.metrics)}]
                    }
                },
            }
        )
    )
    git(params.root, "add", "--all")
    git(params.root, "commit", "--quiet", "-m", message)


@pytest.fixture
def project(write_params, tmp_path, monkeypatch):
    for variable in ("GITHUB_ACTIONS", "GITHUB_EVENT_PATH"):
        monkeypatch.delenv(variable, raising=False)
    params = load_params(write_params())
    git(tmp_path, "init", "--quiet", "--initial-branch=main")
    git(tmp_path, "config", "user.email", "test@example.com")
    git(tmp_path, "config", "user.name", "test")
    commit_metrics(params, stepped(params, 0), "release 1")
    return params


def pull_request(params, steps: float) -> None:
    git(params.root, "checkout", "--quiet", "-B", "change", "main")
    commit_metrics(params, stepped(params, steps), f"{steps} steps down")


def merge(params) -> None:
    git(params.root, "checkout", "--quiet", "main")
    git(params.root, "merge", "--quiet", "--no-ff", "-m", "merge", "change")


def test_two_within_tolerance_steps_fail_the_second_against_the_anchor(project, capsys):
    pull_request(project, 1)
    first = gather(project, None)
    assert verdict(first)[0], verdict(first)[1]
    assert "### Against the anchor" in render(first)
    merge(project)

    pull_request(project, 2)
    second = gather(project, None)
    passed, line = verdict(second)
    assert not passed
    assert line.startswith("## ❌ Quality gate failed: ")
    assert "beyond tolerance against the anchor, the best release on `main`" in line
    markdown = render(second)
    # Both comparisons are shown: within tolerance of main, beyond it of the anchor.
    assert "🟡 within tolerance" in markdown.split("### Against the anchor")[0]
    assert "**Beyond tolerance against the anchor:**" in markdown
    assert run_gate(project, gate.Options(baseline=None)) == 1
    err = capsys.readouterr().err
    assert "within tolerance of `main` but not of the anchor" in err


def test_the_anchor_starts_where_main_s_data_set_began(project):
    # An older release on another data set (other target) is not comparable.
    raw = yaml.safe_load((project.root / "params.yaml").read_text())
    other = {**raw, "data": {**raw["data"], "target": "other"}}
    (project.root / "params.yaml").write_text(yaml.safe_dump(other))
    commit_metrics(project, {name: 0.99 for name in project.gates}, "another data set")
    (project.root / "params.yaml").write_text(yaml.safe_dump(raw))
    commit_metrics(project, stepped(project, 1), "back to this data set, one step down")
    releases = report_command.releases_on_main(project, gather(project, None).baseline)
    assert [release.metrics for release in releases] == [stepped(project, 1)]


def test_the_best_value_of_each_metric_is_its_anchor():
    rules = {
        "accuracy": MetricRule("higher", abs_tolerance=0.01),
        "rmse": MetricRule("lower", rel_tolerance=0.02),
        "recall": MetricRule("higher", abs_tolerance=0.01, gate=False),
    }
    anchor = best_releases(
        [
            Release("`new`", {"accuracy": 0.95, "rmse": 2.0, "recall": 0.1}),
            Release("`old`", {"accuracy": 0.97, "rmse": 2.5, "recall": 0.9}),
        ],
        rules,
    )
    assert anchor is not None
    assert anchor.metrics == {"accuracy": 0.97, "rmse": 2.0}
    assert anchor.holders == {"accuracy": "`old`", "rmse": "`new`"}


def test_production_in_a_reachable_registry_is_the_anchor(project, monkeypatch):
    pull_request(project, 1)
    production = Release("version 3 (`production`)", {name: 0.95 for name in project.gates})
    monkeypatch.setattr(report_command, "production_release", lambda params: (production, None))
    inputs = gather(project, None)
    assert inputs.anchor is not None
    assert inputs.anchor.source == "the model in production, version 3 (`production`)"
    passed, line = verdict(inputs)
    assert not passed and "against the anchor, the model in production" in line
