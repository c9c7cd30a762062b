"""Inside a baked project: install from the lock, run its tests and its pipeline for real."""

from __future__ import annotations

import json
import math
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

pytestmark = pytest.mark.slow

SANE_RANGES = {
    "classification": {
        "accuracy": (0.9, 1.0),
        "precision": (0.9, 1.0),
        "recall": (0.9, 1.0),
        "f1": (0.9, 1.0),
        "roc_auc": (0.95, 1.0),
    },
    "regression": {"rmse": (30.0, 80.0), "mae": (25.0, 70.0), "r2": (0.3, 0.8)},
}

# Reads the MLflow store the way a user would, from inside the project's environment.
INSPECT_STORE = textwrap.dedent("""
    import json, sys, mlflow
    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    experiment = mlflow.get_experiment_by_name(sys.argv[1])
    runs = mlflow.search_runs([experiment.experiment_id], output_format="list")
    models = mlflow.search_logged_models([experiment.experiment_id], output_format="list")
    print(json.dumps({
        "runs": [{"id": r.info.run_id, "params": r.data.params, "metrics": r.data.metrics,
                  "tags": {k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.")}}
                 for r in runs],
        "models": [{"run_id": m.source_run_id, "name": m.name} for m in models],
    }))
""")


def dvc_lock_md5(project, stage: str, path: str) -> str:
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    return next(out["md5"] for out in lock["stages"][stage]["outs"] if out["path"] == path)


# Whole projects, each task with the other poster than the default pairing would give.
@pytest.mark.parametrize(("task", "poster"), [("classification", "builtin"), ("regression", "cml")])
def test_baked_project_tests_pipeline_and_tracking(installed_project, project_env, task, poster):
    project = installed_project(task=task, report_poster=poster)
    assert yaml.safe_load((project / "params.yaml").read_text())["report"]["poster"] == poster

    if (task, poster) != ("classification", "builtin"):
        # That pairing's unit tests run in tests/test_workflow_runs.py, under act, as the
        # checks workflow runs them: the suite is the longest step, so it runs once per bake.
        tests = project_env.run(["pytest", "-q", "-p", "no:cacheprovider"], cwd=project)
        assert " passed" in tests.stdout and "failed" not in tests.stdout

    first = project_env.run(["dvc", "repro"], cwd=project)
    for stage in ("ingest", "validate", "split", "train", "evaluate"):
        assert f"Running stage '{stage}'" in first.stdout
    metrics = json.loads((project / "metrics.json").read_text())
    assert set(metrics) == set(SANE_RANGES[task])
    for name, (low, high) in SANE_RANGES[task].items():
        assert low <= metrics[name] <= high and math.isfinite(metrics[name]), (name, metrics[name])
    plots = sorted(p.name for p in (project / "reports" / "plots").iterdir())
    expected_plots = {
        "classification": ["confusion.json", "roc.json"],
        "regression": ["predictions.json", "residuals.json"],
    }
    assert plots == expected_plots[task]
    shown = project_env.run(["dvc", "metrics", "show", "--json"], cwd=project)
    assert json.loads(shown.stdout)

    lock_before = (project / "dvc.lock").read_text()
    second = project_env.run(["dvc", "repro"], cwd=project)
    assert "Running stage" not in second.stdout
    assert "Data and pipelines are up to date." in second.stdout
    assert (project / "dvc.lock").read_text() == lock_before

    # Editing code a stage runs makes exactly the stages that import it stale, and
    # `mlops check` agrees that dvc.yaml lists that code.
    assert "agree" in project_env.run(["mlops", "check"], cwd=project).stdout
    every_stage = {"ingest", "validate", "split", "train", "evaluate"}
    for module, stale in (("core/metrics.py", {"evaluate"}), ("core/features.py", every_stage)):
        source = project / "src" / "my_ml_project" / module
        original = source.read_text()
        source.write_text(original + "\n# an edit\n")
        status = project_env.run(["dvc", "status", "--json"], cwd=project).stdout
        assert set(json.loads(status)) == stale, (module, status)
        source.write_text(original)
    assert json.loads(project_env.run(["dvc", "status", "--json"], cwd=project).stdout) == {}

    store = json.loads(
        project_env.run(["python", "-c", INSPECT_STORE, "my-ml-project"], cwd=project).stdout
    )
    assert len(store["runs"]) == 1, "the no-op repro must not record another run"
    run = store["runs"][0]
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert run["params"]["model_type"] == params["model"]["type"]
    assert run["params"]["seed"] == str(params["split"]["seed"])
    assert {f"test_{name}": value for name, value in metrics.items()} == run["metrics"]
    assert run["tags"]["data_md5"] == dvc_lock_md5(project, "ingest", "data/raw/data.parquet")
    head = project_env.run(["git", "rev-parse", "HEAD"], cwd=project).stdout.strip()
    assert run["tags"]["git_commit"] == head
    assert run["tags"]["task"] == task
    assert store["models"] == [{"run_id": run["id"], "name": "model"}]
    train_run = json.loads((project / "models" / "train_run.json").read_text())
    assert train_run["run_id"] == run["id"]
    mlmodel = yaml.safe_load((project / "models" / "model" / "MLmodel").read_text())
    assert mlmodel["signature"]["inputs"]
    assert mlmodel["saved_input_example_info"]["artifact_path"] == "input_example.json"
    requirements = (project / "models" / "model" / "requirements.txt").read_text().split()
    assert all("==" in line for line in requirements) and any(
        line.startswith("scikit-learn==") for line in requirements
    )

    # Bit-reproducible: commit the results; two fresh clones rerun every stage from
    # scratch (no DVC cache, no remote, their own MLflow store) and get the same dvc.lock.
    project_env.run(["git", "add", "-A"], cwd=project)
    project_env.run(["git", "commit", "-q", "-m", "Results"], cwd=project)
    clones = [project.parent / f"clone-{n}" for n in (1, 2)]
    for clone in clones:
        project_env.run(["git", "clone", "-q", project, clone], cwd=project.parent)
    with ThreadPoolExecutor(len(clones)) as pool:
        reruns = list(pool.map(lambda clone: project_env.run(["dvc", "repro"], cwd=clone), clones))
    for clone, rerun in zip(clones, reruns, strict=True):
        # evaluate too: its per-row outcomes are cached by DVC, so a clone without the
        # cache has none and scores the model again.
        for stage in ("ingest", "split", "train", "evaluate"):
            assert f"Running stage '{stage}'" in rerun.stdout
        # Their outputs came out byte for byte (the model and the outcomes too), so
        # validate, whose only outputs are git-tracked files, finds its inputs as
        # dvc.lock records them.
        assert "Stage 'validate' didn't change, skipping" in rerun.stdout
        assert (clone / "dvc.lock").read_text() == lock_before
        # The one change: the ids of the MLflow run this rerun recorded.
        changed = project_env.run(["git", "status", "--porcelain"], cwd=clone).stdout
        assert changed.split() == ["M", "models/train_run.json"], changed


def test_bring_your_own_csv_with_categories_and_gaps(installed_project, project_env):
    project = installed_project(task="classification")
    make_csv = textwrap.dedent("""
        import numpy as np, pandas as pd
        rng = np.random.default_rng(3)
        n = 400
        frame = pd.DataFrame({
            "tenure": rng.integers(1, 72, n).astype(float),
            "plan": rng.choice(["basic", "plus", "premium"], n),
            "region": rng.choice(["north", "south", None], n),
        })
        frame["churned"] = np.where(frame["plan"].eq("basic") & (frame["tenure"] < 24), "yes", "no")
        frame.loc[rng.choice(n, 30, replace=False), "tenure"] = np.nan
        frame.to_csv("data/input/customers.csv", index=False)
    """)
    project_env.run(["python", "-c", make_csv], cwd=project)
    project_env.run(["dvc", "add", "data/input/customers.csv"], cwd=project)
    params_path = project / "params.yaml"
    params = yaml.safe_load(params_path.read_text())
    params["data"].update(source="data/input/customers.csv", target="churned")
    params["validation"]["suite"] = "customers"
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))

    project_env.run(["mlops", "suggest-suite"], cwd=project)
    project_env.run(["dvc", "repro"], cwd=project)
    features = json.loads((project / "data" / "features.json").read_text())
    assert features == {
        "target": "churned",
        "numeric": ["tenure"],
        "categorical": ["plan", "region"],
        "excluded": {},  # no identifier-like, date-like or empty column in this data
    }
    metrics = json.loads((project / "metrics.json").read_text())
    assert metrics["accuracy"] > 0.85


def test_bad_params_stop_the_pipeline_with_a_clear_error(installed_project, project_env):
    project = installed_project(task="regression")
    project_env.run(["dvc", "repro"], cwd=project)
    metrics_before = (project / "metrics.json").read_text()
    model_before = (project / "models" / "model" / "MLmodel").read_text()

    params_path = project / "params.yaml"
    original = params_path.read_text()
    params_path.write_text(original.replace("type: ridge", "type: svm"))
    failed = project_env.run(["dvc", "repro"], cwd=project, check=False)
    assert failed.returncode != 0
    assert "`model.type` is 'svm', which is not known; use one of ridge" in failed.stderr

    params_path.write_text(
        original.replace("numeric_features: null", "numeric_features: [age, ghost]").replace(
            "categorical_features: null", "categorical_features: []"
        )
    )
    failed = project_env.run(["dvc", "repro"], cwd=project, check=False)
    assert failed.returncode != 0
    assert "names columns that are not in the data: ghost" in failed.stderr
    assert (
        not (project / "models" / "model").exists()
        or (project / "models" / "model" / "MLmodel").read_text() == model_before
    )
    assert (project / "metrics.json").read_text() == metrics_before

    params_path.write_text("task: [regression\n")
    failed = project_env.run(["mlops", "train"], cwd=project, check=False)
    assert failed.returncode == 2
    assert "params.yaml: not valid YAML at line" in failed.stderr
