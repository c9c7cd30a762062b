"""train: fit the Pipeline, save it in MLflow format for DVC, and record the MLflow run."""

from __future__ import annotations

import importlib.metadata

import mlflow
import mlflow.sklearn
from mlflow.entities import LoggedModelOutput
from sklearn.utils._param_validation import InvalidParameterError

from .. import tracking
from ..data import Features, model_inputs, read_table
from ..errors import ParamsError
from ..files import atomic_path, file_md5, write_json
from ..model import build_pipeline, make_estimator
from ..params import Params

# What the served model needs, pinned to this environment. Passing them
# explicitly spares MLflow a slow inference of requirements.
RUNTIME_PACKAGES = ("mlflow", "scikit-learn", "pandas", "numpy", "scipy", "skops")
# MLflow stores scikit-learn models with skops rather than pickle. These are the
# types our own Pipelines hold that skops does not trust by default; loading a
# model file from an untrusted source with them trusted is not safe.
SKOPS_TRUSTED_TYPES = ["numpy.dtype", "sklearn.tree._tree.Tree"]


def pip_requirements() -> list[str]:
    return [f"{name}=={importlib.metadata.version(name)}" for name in RUNTIME_PACKAGES]


def run(params: Params, args: object = None) -> None:
    train = read_table(params.paths.train, "split")
    features = Features.load(params.paths.features)
    inputs, target = model_inputs(train, features), train[features.target]

    estimator = make_estimator(
        params.task, params.model.type, params.model.hyperparameters, params.split.seed
    )
    pipeline = build_pipeline(features, estimator)
    try:
        pipeline.fit(inputs, target)
    except InvalidParameterError as error:
        raise ParamsError(
            f"params.yaml `model.hyperparameters.{params.model.type}`: {error}"
        ) from None

    example = inputs.head(5)
    signature = mlflow.models.infer_signature(example, pipeline.predict(example))
    requirements = pip_requirements()
    with atomic_path(params.paths.model) as staged:
        mlflow.sklearn.save_model(
            pipeline,
            staged,
            signature=signature,
            input_example=example,
            pip_requirements=requirements,
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )

    experiment_id = tracking.use_experiment(params)
    tags = {
        **tracking.git_revision(params.root),
        "data_md5": file_md5(params.paths.raw),
        "train_md5": file_md5(params.paths.train),
        "task": params.task,
    }
    with mlflow.start_run(tags=tags) as run:
        mlflow.log_params(
            {
                "model_type": params.model.type,
                "seed": params.split.seed,
                "test_size": params.split.test_size,
                "n_train_rows": len(train),
                **{f"hp.{k}": v for k, v in params.model.hyperparameters.items()},
            }
        )
        # The run gets the directory DVC tracks, not a second serialisation of the Pipeline.
        client = mlflow.MlflowClient()
        model_id = tracking.log_model_directory(
            client, experiment_id, params.paths.model, run_id=run.info.run_id
        )
        client.log_outputs(run.info.run_id, [LoggedModelOutput(model_id, step=0)])
    write_json(
        params.paths.train_run,
        {
            "run_id": run.info.run_id,
            "model_id": model_id,
            "experiment": params.mlflow.experiment,
        },
    )
    print(
        f"train: {params.model.type} on {len(train)} rows -> "
        f"{params.paths.model.relative_to(params.root)}; MLflow run {run.info.run_id} in "
        f"{tracking.redact(tracking.tracking_uri(params))}"
    )
