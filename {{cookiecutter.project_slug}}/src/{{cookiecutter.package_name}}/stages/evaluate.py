"""evaluate: score the model on the held-out set; write metrics.json and plot data, and
record the MLflow run (parameters, tags, the model and its test metrics)."""

from __future__ import annotations

import mlflow.sklearn

from .. import tracking
from ..data import Features, model_inputs, read_table
from ..errors import DataError
from ..files import atomic_path, write_json
from ..metrics import (
    classification_metrics,
    classification_plots,
    regression_metrics,
    regression_plots,
)
from ..params import Params


def run(params: Params, args: object = None) -> None:
    test = read_table(params.paths.test, "split")
    features = Features.load(params.paths.features)
    if not params.paths.model.is_dir():
        raise DataError(f"{params.paths.model} is missing; run `dvc repro train` first")
    pipeline = mlflow.sklearn.load_model(str(params.paths.model))
    inputs, target = model_inputs(test, features), test[features.target].to_numpy()
    predictions = pipeline.predict(inputs)

    if params.task == "classification":
        classes = list(pipeline.classes_)
        probabilities = pipeline.predict_proba(inputs)
        scores = classification_metrics(target, predictions, probabilities, classes)
        plots = classification_plots(target, predictions, probabilities, classes)
    else:
        scores = regression_metrics(target, predictions)
        plots = regression_plots(target, predictions)

    with atomic_path(params.paths.plots) as staged:
        staged.mkdir()
        for name, records in plots.items():
            write_json(staged / name, records)
    write_json(params.paths.metrics, scores)

    recorded = tracking.record_run(params, scores, train_rows=_train_rows(params))
    write_json(params.paths.train_run, recorded)
    summary = ", ".join(f"{name}={value:.4f}" for name, value in scores.items())
    print(f"evaluate: {summary} -> {params.paths.metrics.relative_to(params.root)}")
    print(
        f"evaluate: MLflow run {recorded['run_id']} in "
        f"{tracking.redact(tracking.tracking_uri(params))}"
    )


def _train_rows(params: Params) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(params.paths.train).metadata.num_rows
