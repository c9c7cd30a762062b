"""What the report says about reproduction: the committed dvc.lock and metrics against
what `dvc repro` left, the pull request's own head, and which stages `mlops pull` fetches."""

import json
import subprocess
import sys

import pytest
import yaml

from {{ cookiecutter.package_name }}.commands import gate, report
from {{ cookiecutter.package_name }}.commands.gate import run as run_gate
from {{ cookiecutter.package_name }}.commands.pull import plan
from {{ cookiecutter.package_name }}.commands.report import gather
from {{ cookiecutter.package_name }}.commands.report import run as run_report
from {{ cookiecutter.package_name }}.core.report import verdict
from {{ cookiecutter.package_name }}.integrations.dvc import lock_differences, shared_remote
from {{ cookiecutter.package_name }}.integrations.github import pull_request_head
from {{ cookiecutter.package_name }}.io import file_md5
from {{ cookiecutter.package_name }}.params import load_params


def lock(model_md5="m" * 32, metrics_md5="x" * 32, alpha=1.0):
    return {
        "schema": "2.0",
        "stages": {
            "ingest": {"outs": [{"path": "data/raw/data.parquet", "md5": "a" * 32}]},
            "train": {
                "deps": [{"path": "data/split/train.parquet", "md5": "t" * 32}],
                "params": {"params.yaml": {"model": {"alpha": alpha}}},
                "outs": [{"path": "models/model", "md5": model_md5}],
            },
            "evaluate": {"outs": [{"path": "metrics.json", "md5": metrics_md5}]},
        },
    }


def git(root, *args):
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def committed(write_params, tmp_path, monkeypatch):
    """A branch off main that committed its dvc.lock, metrics and run record."""
    for variable in ("GITHUB_ACTIONS", "GITHUB_EVENT_PATH"):
        monkeypatch.delenv(variable, raising=False)
    params = load_params(write_params())
    git(tmp_path, "init", "--quiet", "--initial-branch=main")
    git(tmp_path, "config", "user.email", "test@example.com")
    git(tmp_path, "config", "user.name", "test")
    params.paths.metrics.write_text(json.dumps({name: 0.5 for name in params.gates}))
    git(tmp_path, "add", "params.yaml", "metrics.json")
    git(tmp_path, "commit", "--quiet", "-m", "baseline")
    git(tmp_path, "checkout", "--quiet", "-b", "change")
    params.paths.metrics.write_text(json.dumps({name: 0.6 for name in params.gates}))
    # dvc.lock records the md5 of the metrics it made (the report refuses any other).
    (tmp_path / "dvc.lock").write_text(
        yaml.safe_dump(lock(metrics_md5=file_md5(params.paths.metrics)))
    )
    params.paths.train_run.parent.mkdir(parents=True)
    params.paths.train_run.write_text(json.dumps({"run_id": "author", "experiment": "e"}))
    git(tmp_path, "add", "dvc.lock", "metrics.json", str(params.paths.train_run))
    git(tmp_path, "commit", "--quiet", "-m", "results")
    return params


def provenance(params) -> list[str]:
    assert run_report(params, report.Options(baseline=None, output=None)) == 0
    markdown = params.paths.report.read_text(encoding="utf-8")
    return markdown.split("### Provenance", 1)[1].strip().splitlines()


def in_ci(monkeypatch, tmp_path, head):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7, "head": {"sha": head}}}))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))


def test_identical_results_are_reported_as_reproduced_when_evaluate_ran_here(committed):
    # evaluate records a new MLflow run each time it runs.
    committed.paths.train_run.write_text(json.dumps({"run_id": "here", "experiment": "e"}))
    report = gather(committed, None)
    assert report.committed_lock and report.metrics_reproduced
    assert report.lock_differences == ()
    assert (
        "- Reproduced: `dvc repro` here gave the branch's committed `dvc.lock` and metrics "
        "exactly." in provenance(committed)
    )


def test_the_committed_results_are_not_called_reproduced(committed):
    """Nothing ran since the commit: the outputs match, but nothing was reproduced."""
    lines = provenance(committed)
    assert not any("Reproduced" in line for line in lines), lines
    assert lines[1] == (
        "- Not reproduced here: the outputs match the branch's committed `dvc.lock`, but "
        "they are the committed ones (no stage ran after the commit); `dvc repro --force` "
        "reruns every stage to check them."
    )


def test_same_metrics_other_bytes_names_the_stage_and_file(committed, monkeypatch, tmp_path):
    metrics_md5 = file_md5(committed.paths.metrics)
    (committed.root / "dvc.lock").write_text(
        yaml.safe_dump(lock(model_md5="n" * 32, metrics_md5=metrics_md5))
    )
    committed.paths.train_run.write_text(json.dumps({"run_id": "ci", "experiment": "e"}))
    in_ci(monkeypatch, tmp_path, git(committed.root, "rev-parse", "HEAD"))
    lines = provenance(committed)
    assert not any("uncommitted" in line for line in lines), lines
    assert lines[1] == (
        "- Reproduced the metrics, not every byte: `dvc repro` in CI gave the committed "
        "metrics exactly, but `dvc.lock` differs in stage `train`: `models/model` (another "
        "CPU's floating point can do that)."
    )
    # The store is a local SQLite file: the run CI recorded is nowhere else.
    assert lines[2].startswith("- MLflow run `ci` (experiment `e`) lives only on this CI runner")


def test_other_metrics_are_not_reproduced_and_each_difference_is_named(committed):
    changed = {name: 0.7 for name in committed.gates}
    committed.paths.metrics.write_text(json.dumps(changed))
    (committed.root / "dvc.lock").write_text(
        yaml.safe_dump(
            lock(model_md5="n" * 32, metrics_md5=file_md5(committed.paths.metrics), alpha=2.0)
        )
    )
    report = gather(committed, None)
    assert report.metrics_reproduced is False
    assert report.lock_differences == (
        ("evaluate", "metrics.json"),
        ("train", "models/model"),
        ("train", "params.yaml"),
    )
    reproduction = provenance(committed)[1]
    assert reproduction.startswith(
        "- Not reproduced: this workspace's results differ from the branch's commit in "
        "stage `evaluate`: `metrics.json`; stage `train`: `models/model`, `params.yaml`;"
    )


def test_a_branch_without_a_committed_lock_is_checked_against_nothing(committed):
    git(committed.root, "rm", "--quiet", "--cached", "dvc.lock")
    git(committed.root, "commit", "--quiet", "-m", "untrack the lock")
    assert gather(committed, None).committed_lock is False
    assert "the branch commits no `dvc.lock`" in provenance(committed)[1]


def test_the_pull_request_head_is_shown_and_counted_not_the_merge_commit(
    committed, monkeypatch, tmp_path
):
    head = git(committed.root, "rev-parse", "HEAD")
    # GitHub checks out a merge commit of the head into main: one more commit, not the PR's.
    git(committed.root, "checkout", "--quiet", "main")
    git(committed.root, "commit", "--quiet", "--allow-empty", "-m", "meanwhile on main")
    git(committed.root, "checkout", "--quiet", "--detach")
    git(committed.root, "merge", "--quiet", "--no-ff", "-m", "Merge head into main", "change")
    assert git(committed.root, "rev-list", "--count", "main..HEAD") == "2"
    in_ci(monkeypatch, tmp_path, head)
    report = gather(committed, None)
    assert report.branch.commit == head
    assert report.commits_ahead == 1
    assert f"- Commits: branch `{head[:8]}` against `main`" in provenance(committed)[0]


def test_pull_request_head_needs_a_pull_request_event(tmp_path):
    assert pull_request_head({}) is None
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"ref": "refs/heads/main"}))
    assert pull_request_head({"GITHUB_EVENT_PATH": str(event)}) is None
    event.write_text(json.dumps({"pull_request": {"head": {"sha": "ab" * 20}}}))
    assert pull_request_head({"GITHUB_EVENT_PATH": str(event)}) == "ab" * 20


def test_pull_fetches_the_stages_the_branch_did_not_change():
    baseline, branch = lock(), lock(model_md5="n" * 32, metrics_md5="y" * 32)
    assert lock_differences(baseline, baseline) == []
    assert plan(baseline, branch) == (["ingest"], ["evaluate", "train"])
    assert plan(None, branch) == ([], ["evaluate", "ingest", "train"])


def test_a_remote_folder_with_a_long_path_is_found(tmp_path):
    """`dvc remote list` wraps a long URL onto lines of its own; the URL is read whole."""
    root = tmp_path / ("deep-folder-" * 8) / "project"
    (root / ".dvc").mkdir(parents=True)
    storage = tmp_path / ("storage-" * 10)
    storage.mkdir()
    config = f"[core]\n    remote = local\n['remote \"local\"']\n    url = {storage}\n"
    (root / ".dvc" / "config").write_text(config)
    assert shared_remote(root) == "local"


def test_only_a_remote_this_machine_reaches_is_used(tmp_path):
    (tmp_path / ".dvc").mkdir()
    # The default of storage=local: a folder beside the repository, absent on a CI runner.
    url = "../../project-dvc-storage"
    config = f"[core]\n    remote = local\n['remote \"local\"']\n    url = {url}\n"
    (tmp_path / ".dvc" / "config").write_text(config)
    assert shared_remote(tmp_path) is None
    (tmp_path / ".dvc" / url).resolve().mkdir(parents=True)
    assert shared_remote(tmp_path) == "local"
    subprocess.run(
        [sys.executable, "-m", "dvc", "remote", "add", "-d", "shared", "s3://bucket/project"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    assert shared_remote(tmp_path) == "shared"


def test_in_ci_committed_metrics_unlike_the_recomputed_ones_fail_the_gate(
    committed, monkeypatch, tmp_path, capsys
):
    # The branch committed passing numbers; `evaluate`, rerun here, wrote the model's own.
    committed.paths.metrics.write_text(json.dumps({name: 0.4 for name in committed.gates}))
    (committed.root / "dvc.lock").write_text(
        yaml.safe_dump(lock(metrics_md5=file_md5(committed.paths.metrics)))
    )
    committed.paths.train_run.write_text(json.dumps({"run_id": "ci", "experiment": "e"}))
    in_ci(monkeypatch, tmp_path, git(committed.root, "rev-parse", "HEAD"))
    passed, first_line = verdict(gather(committed, None))
    assert not passed
    assert first_line == (
        "## ❌ Quality gate failed: the committed `metrics.json` is not what CI recomputed "
        "from the branch's model"
    )
    assert run_gate(committed, gate.Options(baseline=None)) == 1
    assert "gate: the committed `metrics.json` is not what CI recomputed" in capsys.readouterr().err


def test_a_retrain_in_ci_reports_its_new_results_as_new_not_as_unreproduced(
    committed, monkeypatch, tmp_path
):
    # The retrain workflow: a scheduled run on the checkout retrains on new data; the
    # results differ from the checkout's committed ones because they are new.
    # Better than main's 0.5 in each metric's direction (error metrics fall).
    better = {
        name: 0.7 if rule.direction == "higher" else 0.3 for name, rule in committed.gates.items()
    }
    committed.paths.metrics.write_text(json.dumps(better))
    (committed.root / "dvc.lock").write_text(
        yaml.safe_dump(lock(alpha=2.0, metrics_md5=file_md5(committed.paths.metrics)))
    )
    committed.paths.train_run.write_text(json.dumps({"run_id": "retrain", "experiment": "e"}))
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"schedule": "0 6 * * 1"}))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    head = git(committed.root, "rev-parse", "HEAD")
    # Read as a pull request's results, they would be a failed reproduction.
    assert "is not what CI recomputed" in verdict(gather(committed, "main"))[1]

    options = report.Options(baseline="main", output=None, retrained=True)
    assert run_report(committed, options) == 0
    markdown = committed.paths.report.read_text(encoding="utf-8")
    first_line = markdown.splitlines()[0]
    assert first_line.startswith("## ✅ Quality gate passed against `main`"), first_line
    assert "recomputed" not in markdown and "Not reproduced" not in markdown
    assert (
        f"- Retrained in CI: these results are new, computed by `dvc repro` from `{head[:8]}` "
        "with the latest data; the pull request commits them"
    ) in markdown


def test_in_ci_metrics_that_were_not_recomputed_are_not_called_reproduced(
    committed, monkeypatch, tmp_path
):
    # Same metrics, same run record: `evaluate` did not run here (DVC skipped it).
    in_ci(monkeypatch, tmp_path, git(committed.root, "rev-parse", "HEAD"))
    report = gather(committed, None)
    assert report.metrics_reproduced and not report.evaluated_here
    assert not verdict(report)[0]
    assert provenance(committed)[1] == (
        "- Not reproduced: `metrics.json` was not recomputed in this run (`evaluate` was "
        "skipped); run `dvc repro --force --single-item validate evaluate` before the report."
    )


def test_pull_also_fetches_the_data_the_pipeline_starts_from(tmp_path):
    """The `.dvc` files git tracks (imports, added data): `dvc repro` cannot rebuild them."""
    from {{ cookiecutter.package_name }}.commands.pull import data_files

    git(tmp_path, "init", "-q")
    for name in ("data/input/source.csv.dvc", "data/monitoring/batch.parquet.dvc", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("outs: []\n")
    git(tmp_path, "add", ".")
    (tmp_path / "untracked.dvc").write_text("outs: []\n")
    assert data_files(tmp_path) == [
        "data/input/source.csv.dvc",
        "data/monitoring/batch.parquet.dvc",
    ]
