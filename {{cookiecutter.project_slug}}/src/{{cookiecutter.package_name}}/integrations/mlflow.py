"""MLflow: the model format on disk, where runs go, and what ties a run to its code and data.

Only what saves, loads, records or releases a model imports this module (`train`,
`evaluate`, `monitor`, `deploy`, `rollback`), because importing mlflow costs over a second.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from pathlib import Path

import mlflow
import mlflow.sklearn
from mlflow.entities import LoggedModelOutput

from ..errors import DataError, ProjectError
from ..io import atomic_path, file_md5
from ..params import Params
from .git import git_state

TRACKING_ENV = "MLFLOW_TRACKING_URI"


# MLflow logs environment guesses at INFO/WARNING on every save (a venv without
# pip, a detected uv project); the requirements are passed explicitly, so they are noise.
for _noisy in ("mlflow.utils.environment", "mlflow.utils.uv_utils", "mlflow.store.db.utils"):
    logging.getLogger(_noisy).setLevel(logging.ERROR)


# What the served model needs, pinned to this environment. Passing them
# explicitly spares MLflow a slow inference of requirements.
RUNTIME_PACKAGES = ("mlflow", "scikit-learn", "pandas", "numpy", "scipy", "skops")
# MLflow stores scikit-learn models with skops rather than pickle. These are the
# types our own Pipelines hold that skops does not trust by default; loading a
# model file from an untrusted source with them trusted is not safe.
SKOPS_TRUSTED_TYPES = ["numpy.dtype", "sklearn.tree._tree.Tree"]


def pip_requirements() -> list[str]:
    return [f"{name}=={importlib.metadata.version(name)}" for name in RUNTIME_PACKAGES]


def save_model(pipeline, example, model_dir: Path) -> None:
    """Save a fitted Pipeline in MLflow format, with its signature and input example."""
    signature = mlflow.models.infer_signature(example, pipeline.predict(example))
    with atomic_path(model_dir) as staged:
        mlflow.sklearn.save_model(
            pipeline,
            staged,
            signature=signature,
            input_example=example,
            pip_requirements=pip_requirements(),
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )


def load_model(model_dir: Path):
    """The scikit-learn Pipeline saved in `model_dir`."""
    if not model_dir.is_dir():
        raise DataError(f"{model_dir} is missing; run `dvc repro train` (or `dvc pull`) first")
    return mlflow.sklearn.load_model(str(model_dir))


class TrackingError(ProjectError):
    """The MLflow store is unreachable or lacks what the pipeline recorded."""


def tracking_uri(params: Params) -> str:
    """MLFLOW_TRACKING_URI if set, else params.yaml's; a relative SQLite path is made absolute."""
    uri = os.environ.get(TRACKING_ENV) or params.mlflow.tracking_uri
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        uri = prefix + str(params.root / uri.removeprefix(prefix))
    return uri


def is_local_store(uri: str) -> bool:
    return uri.startswith("sqlite:")


def use_experiment(params: Params) -> str:
    """Point mlflow at the store and experiment; a local store keeps artifacts in the project."""
    uri = tracking_uri(params)
    mlflow.set_tracking_uri(uri)
    try:
        experiment = mlflow.get_experiment_by_name(params.mlflow.experiment)
        if experiment is None:
            location = (params.root / "mlartifacts").as_uri() if is_local_store(uri) else None
            experiment_id = mlflow.create_experiment(
                params.mlflow.experiment, artifact_location=location
            )
        else:
            experiment_id = experiment.experiment_id
    except (mlflow.exceptions.MlflowException, OSError) as error:
        reason = getattr(error, "message", None) or str(error)
        raise TrackingError(
            f"MLflow store {redact(uri)} is not usable ({reason}); check "
            f"{TRACKING_ENV} or params.yaml `mlflow.tracking_uri`"
        ) from None
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def log_model_directory(
    client: mlflow.MlflowClient,
    experiment_id: str,
    model_dir: Path,
    *,
    run_id: str | None = None,
    tags: dict[str, str] | None = None,
) -> str:
    """Upload an MLflow model directory already on disk, as it is, as a logged model.

    The files MLflow stores are the ones DVC tracks, byte for byte, and the model
    is not serialised a second time. Returns the logged model's id.
    """
    logged = client.create_logged_model(
        experiment_id, name="model", source_run_id=run_id, tags=tags
    )
    try:
        client.log_model_artifacts(logged.model_id, str(model_dir))
    except Exception:
        client.finalize_logged_model(logged.model_id, "FAILED")
        raise
    client.finalize_logged_model(logged.model_id, "READY")
    return logged.model_id


def record_run(params: Params, scores: dict[str, float], train_rows: int) -> dict[str, str]:
    """One MLflow run for a trained and evaluated model: parameters, tags tying it to the
    commit and the data, the DVC-tracked model directory and the test metrics.

    Returns what `paths.train_run` keeps: the run, the logged model and the experiment.
    """
    experiment_id = use_experiment(params)
    tags = {
        **git_revision(params.root),
        "data_md5": file_md5(params.paths.raw),
        "train_md5": file_md5(params.paths.train),
        "task": params.task,
    }
    try:
        with mlflow.start_run(tags=tags) as run:
            run_id = run.info.run_id
            mlflow.log_params(
                {
                    "model_type": params.model.type,
                    "seed": params.split.seed,
                    "test_size": params.split.test_size,
                    "n_train_rows": train_rows,
                    **{f"hp.{k}": v for k, v in params.model.hyperparameters.items()},
                }
            )
            client = mlflow.MlflowClient()
            model_id = log_model_directory(client, experiment_id, params.paths.model, run_id=run_id)
            client.log_outputs(run_id, [LoggedModelOutput(model_id, step=0)])
            # On the logged model as well, so MLflow's model list shows them beside it.
            mlflow.log_metrics(
                {f"test_{name}": value for name, value in scores.items()}, model_id=model_id
            )
    except mlflow.exceptions.MlflowException as error:
        raise TrackingError(
            f"could not record the run in {redact(tracking_uri(params))} ({error.message}); "
            f"check {TRACKING_ENV} or params.yaml `mlflow.tracking_uri`"
        ) from None
    return {"run_id": run_id, "model_id": model_id, "experiment": params.mlflow.experiment}


def redact(uri: str) -> str:
    """The URI without credentials, for messages and tags."""
    if "@" in uri and "://" in uri:
        scheme, rest = uri.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return uri


def git_revision(root: Path) -> dict[str, str]:
    """The commit the run was made from, and whether uncommitted changes were present."""
    try:
        commit, changed = git_state(root)
    except ProjectError:  # no git at all: a run is still worth recording
        return {"git_commit": "none"}
    if commit is None:
        return {"git_commit": "none"}
    return {"git_commit": commit, "git_dirty": str(bool(changed)).lower()}
