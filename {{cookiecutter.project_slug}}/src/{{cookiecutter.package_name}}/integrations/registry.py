"""Releases in the MLflow Model Registry: provenance tags, versions and aliases.

A model version carries, as tags, everything needed to trace it back: the git
commit, the digest of dvc.lock, the data and model digests that dvc.lock
records, the training run and the test metrics. The champion gate reads the
metrics back from the version that holds the production alias, so the registry
alone says why a version was promoted. Aliases, not the deprecated stages, mark
releases.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.models_artifact_repo import REGISTERED_MODEL_META_FILE_NAME

from ..core.dataset import DataSet
from ..core.release import VERIFIED_TAG
from ..errors import DataError, ProjectError
from ..io import file_md5, read_json, read_metrics, read_optional_json
from ..params import Params
from . import mlflow as tracking
from .dvc import read_lock, require_recorded
from .github import ci_run_url

METRIC_TAG = "metric."
NEW_DATA_SET_TAG = "new_data_set"
GATE_OVERRIDE_TAG = "gate_override"
# Seconds and attempts for the first request, so an unreachable server fails fast.
PROBE_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


# Progress bars of artifact transfers are noise in CI logs.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


class RegistryError(ProjectError):
    """The registry refused a request, or holds something a release cannot build on."""


@dataclass(frozen=True)
class Provenance:
    """What a release is made of, read from the workspace that dvc.lock describes."""

    git_commit: str
    dvc_lock_md5: str
    data_md5: str
    model_md5: str
    train_run_id: str
    metrics: dict[str, float]
    # The data set the model learned from (core.dataset): a fingerprint and its words.
    data_schema: str = ""
    data_set: str = ""
    # Set by `mlops deploy --new-data-set`: the first release on a new data set, and what
    # production was trained on before.
    new_data_set: str | None = None
    # Set when the champion gate failed and the merged pull request's override label
    # passed it: who applied the label, the label, the pull request.
    gate_override: str | None = None

    def tags(self) -> dict[str, str]:
        tags = {
            "git_commit": self.git_commit,
            "data_schema": self.data_schema,
            "data_set": self.data_set,
            "dvc_lock_md5": self.dvc_lock_md5,
            "data_md5": self.data_md5,
            "model_md5": self.model_md5,
            "train_run_id": self.train_run_id,
            **{f"{METRIC_TAG}{name}": repr(value) for name, value in self.metrics.items()},
        }
        if self.new_data_set:
            tags[NEW_DATA_SET_TAG] = self.new_data_set
        if self.gate_override:
            tags[GATE_OVERRIDE_TAG] = self.gate_override
        ci_run = ci_run_url()
        if ci_run:
            tags["ci_run"] = ci_run
        return tags

    def is_release_of(self, tags: dict[str, str]) -> bool:
        """The same commit, or the same dvc.lock (a commit that changed only docs)."""
        return (
            tags.get("git_commit") == self.git_commit
            or tags.get("dvc_lock_md5") == self.dvc_lock_md5
        )


def release_metrics(path: Path) -> dict[str, float]:
    """The metrics a release is judged and tagged with: finite numbers, at least one."""
    try:
        metrics = read_metrics(path, hint="run `dvc repro` and commit it")
    except DataError as error:
        raise RegistryError(str(error)) from None
    if not metrics or not all(math.isfinite(value) for value in metrics.values()):
        raise RegistryError(f"{path} holds no finite metrics; rerun `dvc repro evaluate`")
    return metrics


def collect_provenance(params: Params, git_commit: str) -> Provenance:
    lock = read_lock(params.root)
    require_recorded(params.root, params.paths.metrics, lock.outputs)
    features = read_optional_json(params.paths.features)
    if features is None:
        raise RegistryError(
            f"{params.paths.features} is missing or unreadable; run `dvc repro` and commit it"
        )
    data_set = DataSet.from_documents(params.raw, features)
    try:
        run_id = read_json(params.paths.train_run)["run_id"]
    except (FileNotFoundError, KeyError, TypeError):
        raise RegistryError(
            f"{params.paths.train_run} is missing or has no run_id; run `dvc repro train`"
        ) from None
    return Provenance(
        git_commit=git_commit,
        dvc_lock_md5=lock.digest,
        data_md5=lock.md5(params.root, params.paths.raw),
        model_md5=lock.md5(params.root, params.paths.model),
        train_run_id=str(run_id),
        metrics=release_metrics(params.paths.metrics),
        data_schema=data_set.digest(),
        data_set=data_set.describe(),
    )


def metrics_from_tags(tags: dict[str, str]) -> dict[str, float]:
    metrics = {}
    for key, value in tags.items():
        if key.startswith(METRIC_TAG):
            try:
                metrics[key.removeprefix(METRIC_TAG)] = float(value)
            except ValueError:
                continue
    return metrics


def manifest(directory: Path) -> dict[str, str]:
    """Relative path -> md5 of every file under a directory: a model's exact bytes."""
    return {
        path.relative_to(directory).as_posix(): file_md5(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def require_tracking_server() -> None:
    """In CI the local SQLite store dies with the runner: a release needs a real server."""
    if os.environ.get("CI", "").lower() in ("true", "1") and not os.environ.get(
        tracking.TRACKING_ENV
    ):
        raise RegistryError(
            f"{tracking.TRACKING_ENV} is not set: in CI a release must go to a tracking server, "
            "not to a local store that disappears with the runner; add the repository secret "
            f"{tracking.TRACKING_ENV} (and MLFLOW_TRACKING_USERNAME/PASSWORD or TOKEN if needed)"
        )


@contextmanager
def _fail_fast() -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in PROBE_ENV}
    for key, value in PROBE_ENV.items():
        os.environ.setdefault(key, value)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextmanager
def registry_errors() -> Iterator[None]:
    """A request the registry refuses after the first probe becomes one clear error."""
    try:
        yield
    except MlflowException as error:
        raise RegistryError(
            f"the MLflow registry refused a request ({_first_line(error)}); check the server's "
            "logs and your permissions, then run the command again"
        ) from None


# The operating system's reason inside a wrapped connection error, e.g. "[Errno 111] ...".
_OS_REASON = re.compile(r"\[Errno -?\d+\] [^'\")]+|Read timed out|timed out")


def _first_line(error: Exception) -> str:
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    reason = _OS_REASON.search(text)
    return reason.group(0).strip() if reason else text.strip().splitlines()[0][:200]


class Registry:
    """One registered model: its versions, its aliases and how a new version enters it."""

    def __init__(self, params: Params):
        require_tracking_server()
        self.params = params
        self.name = params.registry.model_name
        self.uri = tracking.tracking_uri(params)
        mlflow.set_tracking_uri(self.uri)
        self.client = MlflowClient(self.uri)
        self.exists = self._probe()

    def _probe(self) -> bool:
        """Reach the store once, quickly; True if the registered model exists."""
        try:
            with _fail_fast():
                found = self.client.search_registered_models(
                    filter_string=f"name = '{self.name}'", max_results=1
                )
        except Exception as error:  # any failure here means the store is not usable
            raise tracking.TrackingError(
                f"the MLflow tracking server {tracking.redact(self.uri)} is not reachable "
                f"({_first_line(error)}); check {tracking.TRACKING_ENV} and that the server is "
                "up. Nothing was changed"
            ) from None
        return bool(found)

    def versions(self) -> list[ModelVersion]:
        if not self.exists:
            return []
        found = self.client.search_model_versions(f"name = '{self.name}'")
        return sorted(found, key=lambda version: int(version.version))

    def version(self, number: str) -> ModelVersion | None:
        try:
            return self.client.get_model_version(self.name, number)
        except MlflowException:
            return None

    def aliases(self) -> dict[str, str]:
        if not self.exists:
            return {}
        aliases = self.client.get_registered_model(self.name).aliases
        return {alias: str(number) for alias, number in aliases.items()}

    def holder(self, alias: str) -> ModelVersion | None:
        number = self.aliases().get(alias)
        return self.version(number) if number else None

    def _run_exists(self, run_id: str) -> bool:
        try:
            self.client.get_run(run_id)
        except MlflowException:
            return False
        return True

    def register(self, provenance: Provenance, model_dir: Path) -> ModelVersion:
        """Upload the DVC-tracked model directory as it is and make it a new version."""
        experiment_id = tracking.use_experiment(self.params)
        tags = provenance.tags()
        # Link the training run when this store recorded it; the tag keeps its id either way.
        run_id = provenance.train_run_id if self._run_exists(provenance.train_run_id) else None
        model_id = tracking.log_model_directory(
            self.client, experiment_id, model_dir, run_id=run_id, tags=tags
        )
        if not self.exists:
            try:
                self.client.create_registered_model(
                    self.name, description="Released by `mlops deploy`; see the version tags."
                )
            except MlflowException as error:
                if "ALREADY_EXISTS" not in (error.error_code or ""):
                    raise
            self.exists = True
        version = self.client.create_model_version(
            self.name,
            source=f"models:/{model_id}",
            run_id=run_id,
            tags=tags,
            model_id=model_id,
            description=f"git {provenance.git_commit[:12]}, dvc.lock {provenance.dvc_lock_md5}",
        )
        self.verify(version, model_dir)
        return version

    def verify(self, version: ModelVersion, model_dir: Path) -> None:
        """Download what the registry serves for this version; it must be byte-identical."""
        with tempfile.TemporaryDirectory(prefix="registered-") as scratch:
            stored = Path(
                mlflow.artifacts.download_artifacts(
                    f"models:/{self.name}/{version.version}", dst_path=scratch
                )
            )
            # MLflow adds a file naming the version to what it downloads from the registry.
            (stored / REGISTERED_MODEL_META_FILE_NAME).unlink(missing_ok=True)
            if manifest(stored) != manifest(model_dir):
                self.tag(str(version.version), VERIFIED_TAG, "false")
                raise RegistryError(
                    f"version {version.version} of {self.name} does not hold the same files as "
                    f"{model_dir}; it was left without an alias. Check the artifact store"
                )
        self.tag(str(version.version), VERIFIED_TAG, "true")

    def tag(self, version: str, key: str, value: str) -> None:
        self.client.set_model_version_tag(self.name, version, key, value)

    def point(self, alias: str, version: str) -> None:
        """Set an alias that keeps no history (staging)."""
        self.client.set_registered_model_alias(self.name, alias, version)

    def artifact_location(self, version: ModelVersion) -> str:
        """Where the artifact store holds this version's files (as the server records it)."""
        model_id = getattr(version, "model_id", None)
        if model_id:
            return str(self.client.get_logged_model(model_id).artifact_location)
        return str(self.client.get_model_version_download_uri(self.name, str(version.version)))

    def move(self, alias: str, version: str) -> str | None:
        """Point the release alias at `version`; the outgoing one keeps the previous alias.

        Returns the version that held the alias before. `previous` always names
        the version that held the alias before its last move, so a second
        rollback undoes the first.
        """
        outgoing = self.aliases().get(alias)
        if outgoing == version:
            return outgoing
        if outgoing is not None:
            self.client.set_registered_model_alias(
                self.name, self.params.registry.previous_alias, outgoing
            )
        self.client.set_registered_model_alias(self.name, alias, version)
        return outgoing
