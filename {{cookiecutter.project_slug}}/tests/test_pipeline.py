"""The stages chained in process, as `dvc repro` chains them: train, evaluate, determinism."""

import json
import re
import shutil
from pathlib import Path

import mlflow
import mlflow.sklearn
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS
from {{ cookiecutter.package_name }}.errors import ParamsError
from {{ cookiecutter.package_name }}.integrations.mlflow import TrackingError, directory_digest
from {{ cookiecutter.package_name }}.integrations.registry import manifest
from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.stages import evaluate, ingest, split, train

from .conftest import TASKS

EXPECTED_METRICS = {"classification": CLASSIFICATION_METRICS, "regression": REGRESSION_METRICS}


def run_pipeline(params):
    for stage in (ingest, split, train, evaluate):
        stage.run(params)
    return json.loads(params.paths.metrics.read_text())


def predictions(params):
    model = mlflow.sklearn.load_model(str(params.paths.model))
    test = pd.read_parquet(params.paths.test)
    return model.predict(test.drop(columns="target"))


@pytest.mark.parametrize("task", sorted(TASKS))
def test_pipeline_writes_metrics_and_records_the_run(write_params, task, tmp_path):
    params = load_params(write_params(TASKS[task]))
    scores = run_pipeline(params)
    assert set(scores) == set(EXPECTED_METRICS[task])
    if task == "classification":
        assert scores["accuracy"] > 0.9 and scores["roc_auc"] > 0.95
    else:
        assert scores["r2"] > 0.3 and scores["rmse"] > 0

    run_id = json.loads(params.paths.train_run.read_text())["run_id"]
    run = mlflow.get_run(run_id)
    assert run.data.params["model_type"] == params.model.type
    assert (
        run.data.metrics["test_" + EXPECTED_METRICS[task][0]] == scores[EXPECTED_METRICS[task][0]]
    )
    assert len(run.data.tags["data_md5"]) == 32
    assert (params.paths.model / "MLmodel").is_file()

    # The run's logged model is the directory DVC tracks, byte for byte, with the test metrics.
    model_id = json.loads(params.paths.train_run.read_text())["model_id"]
    assert [output.model_id for output in run.outputs.model_outputs] == [model_id]
    logged = mlflow.get_logged_model(model_id)
    assert logged.source_run_id == run_id and logged.status == "READY"
    stored = mlflow.artifacts.download_artifacts(
        logged.artifact_location, dst_path=str(tmp_path / "stored")
    )
    assert manifest(Path(stored)) == manifest(params.paths.model)
    first_metric = "test_" + EXPECTED_METRICS[task][0]
    assert first_metric in {metric.key for metric in logged.metrics}


@pytest.mark.parametrize(
    ("task", "model_type"), [("classification", "random_forest"), ("regression", "ridge")]
)
def test_training_twice_gives_the_same_bytes(write_params, task, model_type, tmp_path):
    params = load_params(write_params(TASKS[task], model={"type": model_type}))
    run_pipeline(params)
    first = predictions(params)
    copies = []
    for name in ("again", "once more"):
        target = tmp_path / name / "model"
        train.train(
            params.paths.train,
            params.paths.features,
            params.task,
            params.model,
            params.split.seed,
            model_out=target,
            root=params.root,
        )
        copies.append(manifest(target))
    assert copies[0] == copies[1] == manifest(params.paths.model)
    assert "model.skops" in copies[0] and "MLmodel" in copies[0]
    # No clock, no random id, no memory address in what DVC hashes; and it still loads.
    mlmodel = (params.paths.model / "MLmodel").read_text()
    assert "utc_time_created: '1970-01-01 00:00:00'" in mlmodel
    assert f"model_uuid: {directory_digest_without_uuid(params.paths.model)}" in mlmodel
    assert (predictions(params) == first).all()


def directory_digest_without_uuid(model_dir: Path) -> str:
    """The uuid MLmodel should carry: the digest of the directory with `model_uuid: null`."""
    copy = model_dir.parent / "digest-check"
    shutil.copytree(model_dir, copy)
    text = (copy / "MLmodel").read_text()
    (copy / "MLmodel").write_text(re.sub(r"model_uuid: \w+", "model_uuid: null", text))
    try:
        return directory_digest(copy)
    finally:
        shutil.rmtree(copy)


def test_own_data_with_categories_and_gaps_runs_through(write_params, mixed_csv):
    params = load_params(
        write_params(
            TASKS["classification"],
            data={"source": "data/input/customers.csv", "target": "churned"},
        )
    )
    scores = run_pipeline(params)
    assert scores["accuracy"] > 0.8


def test_unknown_hyperparameter_is_named(write_params):
    params = load_params(
        write_params(TASKS["regression"], model={"hyperparameters": {"ridge": {"alphas": 2}}})
    )
    ingest.run(params)
    split.run(params)
    with pytest.raises(ParamsError, match="alphas is not a parameter of Ridge"):
        train.run(params)
    assert not params.paths.model.exists()


def test_train_leaves_the_tracking_store_alone(write_params, tmp_path):
    # evaluate records the run once the metrics exist; train never opens the store.
    params = load_params(write_params(TASKS["regression"]))
    for stage in (ingest, split, train):
        stage.run(params)
    assert (params.paths.model / "MLmodel").is_file()
    assert not (tmp_path / "mlflow.db").exists()
    assert not params.paths.train_run.exists()


def test_an_unusable_tracking_store_is_named(write_params, tmp_path, monkeypatch):
    params = load_params(write_params(TASKS["regression"]))
    for stage in (ingest, split, train):
        stage.run(params)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{blocker}/mlflow.db")
    named = r"not-a-directory/mlflow\.db is not usable .*MLFLOW_TRACKING_URI"
    with pytest.raises(TrackingError, match=named):
        evaluate.run(params)
    assert not params.paths.train_run.exists()
