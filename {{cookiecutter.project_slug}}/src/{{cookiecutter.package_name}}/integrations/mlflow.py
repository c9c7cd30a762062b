"""MLflow: the model format on disk, where runs go, and what ties a run to its code and data.

Only what saves, loads, records or releases a model imports this module (`train`,
`evaluate`, `monitor`, `deploy`, `rollback`), because importing mlflow costs over a second.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import zipfile
from pathlib import Path

import mlflow
import mlflow.sklearn
from mlflow.entities import LoggedModelOutput
from mlflow.models import Model, ModelSignature
from mlflow.types import ColSpec, DataType, Schema
from mlflow.types.schema import AnyType

from ..errors import DataError, ProjectError
from ..io import atomic_path, file_md5
from ..params import Params
from .git import git_state
from .model_file import SKOPS_TRUSTED_TYPES
from .store import TRACKING_ENV, is_local_store, redact, tracking_uri

# MLflow logs environment guesses at INFO/WARNING on every save (a venv without
# pip, a detected uv project); the requirements are passed explicitly, so they are noise.
for _noisy in ("mlflow.utils.environment", "mlflow.utils.uv_utils", "mlflow.store.db.utils"):
    logging.getLogger(_noisy).setLevel(logging.ERROR)


# What the served model needs, pinned to this environment. Passing them
# explicitly spares MLflow a slow inference of requirements.
RUNTIME_PACKAGES = ("mlflow", "scikit-learn", "pandas", "numpy", "scipy", "skops")


def pip_requirements() -> list[str]:
    return [f"{name}=={importlib.metadata.version(name)}" for name in RUNTIME_PACKAGES]


# MLmodel's creation time, fixed so that the model directory is a function of its
# content: the time a model was trained is its MLflow run's start time.
CREATED = "1970-01-01 00:00:00"
# What every entry of the skops archive gets instead of the clock and the platform.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
ZIP_MODE = 0o644 << 16
UNIX = 3


def save_model(pipeline, example, model_dir: Path) -> None:
    """Save a fitted Pipeline in MLflow format, with its signature and input example.

    The same Pipeline gives the same bytes: see `make_reproducible`.
    """
    signature = accepting_integers(
        mlflow.models.infer_signature(example, pipeline.predict(example))
    )
    with atomic_path(model_dir) as staged:
        mlflow.sklearn.save_model(
            pipeline,
            staged,
            mlflow_model=Model(utc_time_created=CREATED, model_uuid=None),
            signature=signature,
            input_example=example,
            pip_requirements=pip_requirements(),
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )
        make_reproducible(staged)


def accepting_integers(signature: ModelSignature) -> ModelSignature:
    """The signature with every numeric input column typed as any value, not `double`.

    The model is trained on float64 columns, so MLflow infers `double` for them, and its
    schema check then refuses an int64 column ("Can not safely convert int64 to float64"):
    the very frame `pd.read_csv` gives for the user's own file. The Pipeline's imputer
    turns integers (and floats) into float64 itself, so the numeric columns accept either;
    a value that is not a number is refused by that imputer, naming it. Text columns keep
    `string`, so a category sent as a number is still refused by the signature.
    """
    columns = [
        ColSpec(AnyType(), spec.name, spec.required)
        if spec.type in (DataType.double, DataType.float, DataType.long, DataType.integer)
        else spec
        for spec in signature.inputs.inputs
    ]
    return ModelSignature(
        inputs=Schema(columns), outputs=signature.outputs, params=signature.params
    )


def make_reproducible(model_dir: Path) -> None:
    """Take the clock, the memory addresses and the random ids out of a saved model.

    MLflow writes the time and a random `model_uuid` into MLmodel; skops names objects
    and array files after their memory address (`id()`) and stamps zip entries with
    the time. Here the archive is rewritten with those numbered in order of appearance
    and fixed entry metadata, and `model_uuid` becomes the digest of everything else,
    so DVC records the same md5 for the same model wherever it is trained.
    """
    mlmodel = model_dir / "MLmodel"
    model = Model.load(str(mlmodel))
    archive = model_dir / model.flavors["sklearn"]["pickled_model"]
    before = archive.stat().st_size
    rewrite_skops(archive)
    if model.model_size_bytes is not None:
        model.model_size_bytes += archive.stat().st_size - before
    model.utc_time_created = CREATED
    model.model_uuid = None
    model.save(str(mlmodel))
    model.model_uuid = directory_digest(model_dir)
    model.save(str(mlmodel))


def directory_digest(folder: Path) -> str:
    """The md5 of every file's relative path and bytes, in path order."""
    digest = hashlib.md5()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode("utf-8") + b"\0")
        digest.update(file_md5(path).encode("ascii"))
    return digest.hexdigest()


def rewrite_skops(archive: Path) -> None:
    """Rewrite a skops file with ids and file names numbered in order of appearance.

    Loading only matches equal `__id__`s (shared objects) and reads members by their
    `file` name, so a one-to-one renumbering loads the same objects.
    """
    with zipfile.ZipFile(archive) as source:
        members = {info.filename: (info, source.read(info)) for info in source.infolist()}
    schema = json.loads(members["schema.json"][1])
    ids: dict[int, int] = {}
    files: dict[str, str] = {}

    def renumber(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "__id__" and isinstance(value, int):
                    node[key] = ids.setdefault(value, len(ids) + 1)
                elif key == "file" and isinstance(value, str) and value in members:
                    suffix = Path(value).suffix
                    node[key] = files.setdefault(value, f"{len(files) + 1}{suffix}")
                else:
                    renumber(value)
        elif isinstance(node, list):
            for item in node:
                renumber(item)

    renumber(schema)
    renamed = {files.get(name, name): member for name, member in members.items()}
    renamed["schema.json"] = (members["schema.json"][0], json.dumps(schema, indent=2).encode())
    with zipfile.ZipFile(archive, "w") as target:
        for name in sorted(renamed):
            original, content = renamed[name]
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = original.compress_type
            info.external_attr = ZIP_MODE
            info.create_system = UNIX
            target.writestr(info, content)


def load_model(model_dir: Path):
    """The scikit-learn Pipeline saved in `model_dir`."""
    if not model_dir.is_dir():
        raise DataError(f"{model_dir} is missing; run `dvc repro train` (or `dvc pull`) first")
    return mlflow.sklearn.load_model(str(model_dir))


class TrackingError(ProjectError):
    """The MLflow store is unreachable or lacks what the pipeline recorded."""


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


def git_revision(root: Path) -> dict[str, str]:
    """The commit the run was made from, and whether uncommitted changes were present."""
    try:
        commit, changed = git_state(root)
    except ProjectError:  # no git at all: a run is still worth recording
        return {"git_commit": "none"}
    if commit is None:
        return {"git_commit": "none"}
    return {"git_commit": commit, "git_dirty": str(bool(changed)).lower()}
