"""The data gate in a baked project: bad data stops `dvc repro` before training, and says why.

One installed classification project serves the module: its first `dvc repro`
trains the baseline model that every later, failing run must leave untouched.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from .conftest import bake

pytestmark = pytest.mark.slow

# Every output downstream of the gate, which a failed validation must not touch.
DOWNSTREAM = [
    "data/split/train.parquet",
    "data/split/test.parquet",
    "models/model/MLmodel",
    "models/model/model.skops",
    "models/train_run.json",
    "metrics.json",
]

COUNT_RUNS = textwrap.dedent("""
    import sys, mlflow
    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    experiment = mlflow.get_experiment_by_name(sys.argv[1])
    print(len(mlflow.search_runs([experiment.experiment_id], output_format="list")))
""")

# Six corruptions of the default data in one file, each in a column of its own.
CORRUPT_DEFAULT = textwrap.dedent("""
    import numpy as np, pandas as pd
    frame = pd.read_parquet("data/raw/data.parquet")
    frame.head(0).to_csv("data/input/empty.csv", index=False)
    frame = frame.drop(columns="mean_area").assign(surprise=1.0)
    frame.loc[:4, "mean_radius"] = np.nan
    frame.loc[3, "mean_texture"] = 1e6
    frame["mean_smoothness"] = frame["mean_smoothness"].astype(str)
    frame.loc[2, "mean_smoothness"] = "twelve"
    frame.loc[5, "target"] = 2
    frame.to_csv("data/input/corrupted.csv", index=False)
""")

# Corruption, expectation, column, a fragment of the printed table row.
DEFAULT_CORRUPTIONS = [
    ("missing column", "expect_table_columns_to_match_set", None, "missing: mean_area"),
    ("extra column", "expect_table_columns_to_match_set", None, "unexpected: surprise"),
    ("nulls", "expect_column_values_to_not_be_null", "mean_radius", "5 of 569 rows"),
    ("out of range", "expect_column_values_to_be_between", "mean_texture", "1000000.0"),
    ("text in numbers", "expect_column_values_to_be_in_type_list", "mean_smoothness", "'twelve'"),
    ("label outside its set", "expect_column_values_to_be_in_set", "target", "one of 0, 1"),
]

OWN_DATA = textwrap.dedent("""
    import numpy as np, pandas as pd
    rng = np.random.default_rng(11)
    n = 500
    frame = pd.DataFrame({
        "tenure": rng.integers(1, 72, n).astype(float),
        "monthly_fee": rng.normal(60, 15, n).round(2),
        "plan": rng.choice(["basic", "plus", "premium"], n),
        "region": rng.choice(["north", "south", "east"], n),
    })
    frame["churned"] = np.where(frame["plan"].eq("basic") & (frame["tenure"] < 24), "yes", "no")
    frame.loc[rng.choice(n, 40, replace=False), "tenure"] = np.nan
    frame.loc[rng.choice(n, 30, replace=False), "plan"] = None
    frame.to_csv("data/input/customers.csv", index=False)
    corrupted = frame.copy()
    corrupted.loc[0, "region"] = "atlantis"
    corrupted.loc[1, "churned"] = "maybe"
    corrupted.loc[2, "region"] = None
    corrupted.to_csv("corrupted-customers.csv", index=False)
""")


def snapshot(project: Path) -> dict[str, bytes]:
    return {path: (project / path).read_bytes() for path in DOWNSTREAM}


def set_params(project: Path, **sections: dict) -> None:
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for key, values in sections.items():
        params[key].update(values)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def table_row(output: str, expectation: str, column: str | None) -> str:
    """The printed table's line for one failed expectation."""
    for line in output.splitlines():
        cells = line.split()
        if cells[:1] == [expectation] and (column is None or cells[1] == column):
            return line
    raise AssertionError(f"no row for {expectation} {column} in:\n{output}")


@pytest.fixture(scope="module")
def project(tmp_path_factory, project_env):
    """An installed classification project whose pipeline has run once on the default data."""
    baked = bake(tmp_path_factory.mktemp("gate"), task="classification")
    project_env.install(baked)
    first = project_env.run(["dvc", "repro"], cwd=baked)
    assert "Running stage 'validate'" in first.stdout
    return baked


def count_runs(project_env, project: Path) -> int:
    result = project_env.run(["python", "-c", COUNT_RUNS, "my-ml-project"], cwd=project)
    return int(result.stdout.strip().splitlines()[-1])


def test_default_data_passes_and_split_waits_for_the_gate(project):
    report = json.loads((project / "reports" / "validation.json").read_text())
    assert report["success"] is True and report["failures"] == []
    assert report["suite"] == "breast_cancer" and report["evaluated"] > 90
    assert "passed" in (project / "reports" / "validation.md").read_text()
    dvc = yaml.safe_load((project / "dvc.yaml").read_text())
    assert "${paths.validation}" in dvc["stages"]["split"]["deps"]


def test_data_docs_render_locally_and_leave_git_clean(project, project_env):
    built = project_env.run(["mlops", "data-docs"], cwd=project)
    index = project / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    assert index.is_file() and str(index) in built.stdout
    assert "breast_cancer" in index.read_text()
    status = project_env.run(["git", "status", "--porcelain", "--", "gx"], cwd=project)
    assert status.stdout.strip() == "", "GX must write only under the git-ignored uncommitted/"


def test_bad_data_stops_repro_before_training_and_names_each_problem(project, project_env):
    before, runs_before = snapshot(project), count_runs(project_env, project)
    original_params = (project / "params.yaml").read_text()
    project_env.run(["python", "-c", CORRUPT_DEFAULT], cwd=project)

    set_params(project, data={"source": "data/input/corrupted.csv"})
    failed = project_env.run(["dvc", "repro"], cwd=project, check=False)
    assert failed.returncode != 0
    assert "Running stage 'validate'" in failed.stdout
    assert "Running stage 'split'" not in failed.stdout
    report = json.loads((project / "reports" / "validation.json").read_text())
    assert report["success"] is False and report["data"] == "data/raw/data.parquet"
    summary = (project / "reports" / "validation.md").read_text()
    for corruption, expectation, column, shown in DEFAULT_CORRUPTIONS:
        assert any(
            f["expectation"] == expectation and f["column"] == column for f in report["failures"]
        ), corruption
        assert shown in table_row(failed.stdout, expectation, column), corruption
        assert f"| {expectation} | {column or '-'} |" in summary, corruption
    strings = next(f for f in report["failures"] if f["column"] == "mean_smoothness")
    assert strings["unexpected_values"] == ["twelve"]

    set_params(project, data={"source": "data/input/empty.csv"})
    failed = project_env.run(["dvc", "repro"], cwd=project, check=False)
    assert failed.returncode != 0 and "Running stage 'split'" not in failed.stdout
    assert "0 rows" in table_row(failed.stdout, "expect_table_row_count_to_be_between", None)
    report = json.loads((project / "reports" / "validation.json").read_text())
    failures = [f["expectation"] for f in report["failures"]]
    # Row count first; then what training needs: no classes, and no values in any feature.
    assert failures[0] == "expect_table_row_count_to_be_between"
    assert report["failures"][0]["observed"] == 0
    assert "training:target_has_two_classes" in failures
    assert failures.count("training:feature_has_values") == 30

    assert snapshot(project) == before, "a failed gate must not touch split, model or metrics"
    assert count_runs(project_env, project) == runs_before

    # Back to good data: the gate passes with the same report, so nothing retrains.
    (project / "params.yaml").write_text(original_params)
    recovered = project_env.run(["dvc", "repro"], cwd=project)
    assert "Running stage 'validate'" in recovered.stdout
    assert "Running stage 'train'" not in recovered.stdout
    assert snapshot(project) == before


def test_suggest_suite_for_own_data_and_the_gate_it_sets(project, project_env):
    project_env.run(["python", "-c", OWN_DATA], cwd=project)
    set_params(
        project,
        data={"source": "data/input/customers.csv", "target": "churned"},
        validation={"suite": "customers"},
    )
    suite_file = project / "gx" / "expectations" / "customers.json"
    written = project_env.run(["mlops", "suggest-suite"], cwd=project)
    assert "gx/expectations/customers.json" in written.stdout
    first = suite_file.read_bytes()
    suite = json.loads(first)
    churned = [e for e in suite["expectations"] if e["kwargs"].get("column") == "churned"]
    assert {
        "type": "expect_column_values_to_be_in_set",
        "kwargs": {"column": "churned", "value_set": ["no", "yes"]},
    } in churned

    refused = project_env.run(["mlops", "suggest-suite"], cwd=project, check=False)
    assert refused.returncode == 2
    assert "gx/expectations/customers.json exists" in refused.stderr
    assert "--force" in refused.stderr
    project_env.run(["mlops", "suggest-suite", "--force"], cwd=project)
    assert suite_file.read_bytes() == first, "the same data must give the same bytes"

    # The drafted suite passes on the pipeline's own copy of the data.
    before, runs_before = snapshot(project), count_runs(project_env, project)
    passed = project_env.run(["dvc", "repro", "validate"], cwd=project)
    assert "passed: all" in passed.stdout

    checked = project_env.run(
        ["mlops", "validate", "--data", "corrupted-customers.csv"], cwd=project, check=False
    )
    assert checked.returncode == 1
    assert "'atlantis'" in table_row(checked.stdout, "expect_column_values_to_be_in_set", "region")
    assert "'maybe'" in table_row(checked.stdout, "expect_column_values_to_be_in_set", "churned")
    table_row(checked.stdout, "expect_column_values_to_not_be_null", "region")

    (project / "corrupted-customers.csv").replace(project / "data" / "input" / "customers.csv")
    failed = project_env.run(["dvc", "repro"], cwd=project, check=False)
    assert failed.returncode != 0 and "Running stage 'train'" not in failed.stdout
    report = json.loads((project / "reports" / "validation.json").read_text())
    region = next(
        f
        for f in report["failures"]
        if f["column"] == "region" and f["expectation"] == "expect_column_values_to_be_in_set"
    )
    assert region["unexpected_values"] == ["atlantis"]
    assert snapshot(project) == before
    assert count_runs(project_env, project) == runs_before
