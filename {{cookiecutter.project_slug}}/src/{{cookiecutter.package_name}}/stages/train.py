"""train: fit the Pipeline and save it in MLflow format for DVC.

The MLflow run is recorded by `evaluate`, once the test metrics exist: one process
opens the tracking store, and no run is left without its metrics.
"""

from __future__ import annotations

from pathlib import Path

from ..core.features import model_inputs
from ..core.model import build_pipeline, fit, make_estimator
from ..integrations.mlflow import save_model
from ..io import read_features, read_table, shown
from ..params import ModelParams, Params


def run(params: Params) -> None:
    train(
        params.paths.train,
        params.paths.features,
        params.task,
        params.model,
        params.split.seed,
        model_out=params.paths.model,
        root=params.root,
    )


def train(
    train_file: Path,
    features_file: Path,
    task: str,
    model: ModelParams,
    seed: int,
    *,
    model_out: Path,
    root: Path,
) -> None:
    frame = read_table(train_file, "split")
    features = read_features(features_file)
    inputs, target = model_inputs(frame, features), frame[features.target]
    estimator = make_estimator(task, model.type, model.hyperparameters, seed)
    pipeline = fit(build_pipeline(features, estimator), inputs, target, model.type)
    save_model(pipeline, inputs.head(5), model_out)
    print(f"train: {model.type} on {len(frame)} rows -> {shown(model_out, root)}")
