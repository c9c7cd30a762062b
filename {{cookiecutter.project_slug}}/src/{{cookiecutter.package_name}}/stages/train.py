"""train: fit the Pipeline and save it in MLflow format for DVC.

The MLflow run is recorded by `evaluate`, once the test metrics exist: one process
opens the tracking store, and no run is left without its metrics.
"""

from __future__ import annotations

import importlib.metadata

import mlflow
import mlflow.sklearn
from sklearn.utils._param_validation import InvalidParameterError

from ..data import Features, model_inputs, read_table
from ..errors import ParamsError
from ..files import atomic_path
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

    print(
        f"train: {params.model.type} on {len(train)} rows -> "
        f"{params.paths.model.relative_to(params.root)}"
    )
