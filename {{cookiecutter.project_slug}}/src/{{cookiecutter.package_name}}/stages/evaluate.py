"""evaluate: score the model on the held-out set; write metrics.json and plot data."""

from __future__ import annotations

import mlflow
import mlflow.sklearn

from .. import tracking
from ..data import Features, model_inputs, read_table
from ..errors import DataError
from ..files import atomic_path, read_json, write_json
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

    trained = read_json(params.paths.train_run)
    run_id = trained["run_id"]
    tracking.use_experiment(params)
    try:
        with mlflow.start_run(run_id=run_id):
            # Also on the logged model, so MLflow's model list shows them beside it.
            mlflow.log_metrics(
                {f"test_{name}": value for name, value in scores.items()},
                model_id=trained.get("model_id"),
            )
    except mlflow.exceptions.MlflowException as error:
        raise tracking.TrackingError(
            f"could not record metrics on MLflow run {run_id} ({error.message}); if the tracking "
            "store changed since training, run `dvc repro --force train`"
        ) from None
    summary = ", ".join(f"{name}={value:.4f}" for name, value in scores.items())
    print(f"evaluate: {summary} -> {params.paths.metrics.relative_to(params.root)}")
