"""orchestrator=kubeflow: the same pipeline, run by kfp.local, gives what `dvc repro` gives."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

CORRUPT = """
import json
import pandas as pd
frame = pd.read_parquet("data/raw/data.parquet")
column = json.load(open("data/features.json"))["numeric"][0]
frame[column] = -frame[column] - 1000  # far below anything the suite accepts
frame.to_csv("data/input/corrupted.csv", index=False)
"""


def test_the_kfp_local_run_matches_dvc_repro_and_stops_at_validation(
    installed_project, project_env
):
    project = installed_project(orchestrator="kubeflow")
    project_env.run(["dvc", "repro"], cwd=project)
    by_dvc = json.loads((project / "metrics.json").read_text(encoding="utf-8"))

    local = project_env.run(["mlops", "kfp", "local", "--root", "build/good"], cwd=project)
    assert "kfp: local run passed" in local.stdout
    [metrics] = (project / "build" / "good").glob("*/evaluate/metrics")
    assert json.loads(metrics.read_text(encoding="utf-8")) == by_dvc

    # Bad data fails the run at the validate step, as it fails `dvc repro`.
    project_env.run(["python", "-c", CORRUPT], cwd=project)
    params = project / "params.yaml"
    params.write_text(
        params.read_text(encoding="utf-8").replace(
            "source: sklearn:breast_cancer", "source: data/input/corrupted.csv"
        ),
        encoding="utf-8",
    )
    failed = project_env.run(
        ["mlops", "kfp", "local", "--root", "build/bad"], cwd=project, check=False
    )
    assert failed.returncode == 2
    assert failed.stderr.splitlines()[-1].startswith("error: the local Kubeflow run failed")
    assert "Inner task failed: 'validate'" in failed.stderr
    assert "validate: FAILED" in failed.stdout or "failed" in failed.stdout.lower()
    [run] = (project / "build" / "bad").iterdir()
    assert (run / "ingest").is_dir() and not (run / "split").exists()
    repro = project_env.run(["dvc", "repro"], cwd=project, check=False)
    assert repro.returncode != 0 and "validate" in repro.stderr + repro.stdout
