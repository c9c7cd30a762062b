"""evaluate: score the model on the held-out set; write metrics.json, plot data and the
per-row outcomes (paths.outcomes, for the paired gate), and record the MLflow run
(parameters, tags, the model and its test metrics).

The run is recorded first and the files are moved into place after it: a stage that
fails or is interrupted leaves no metrics.json without its MLflow run (and DVC has
removed the previous outputs, which `dvc checkout` restores)."""

from __future__ import annotations

from pathlib import Path

from ..core.features import model_inputs
from ..core.metrics import Assessment, score
from ..core.outcomes import Outcomes, from_assessment, row_keys, to_frame
from ..integrations import mlflow as tracking
from ..io import atomic_path, read_features, read_table, shown, write_json, write_outcomes
from ..params import Params


def run(params: Params) -> None:
    paths = params.paths
    assessment, outcomes = evaluate(
        paths.test,
        paths.features,
        paths.model,
        params.task,
        positive_class=params.data.positive_class,
    )
    scores = assessment.scores
    recorded = tracking.record_run(params, scores, train_rows=_train_rows(paths.train))
    print(
        f"evaluate: MLflow run {recorded['run_id']} in "
        f"{tracking.redact(tracking.tracking_uri(params))}"
    )
    write_outcomes(*to_frame(outcomes), paths.outcomes)
    write_outputs(assessment, recorded, paths.metrics, paths.plots, paths.train_run)
    summary = ", ".join(f"{name}={value:.4f}" for name, value in scores.items())
    print(f"evaluate: {summary} -> {shown(paths.metrics, params.root)}")


def write_outputs(
    assessment: Assessment, recorded: dict, metrics_out: Path, plots_out: Path, run_out: Path
) -> None:
    """The plot data, the run and, last, the metrics: each file moved into place whole."""
    with atomic_path(plots_out) as staged:
        staged.mkdir()
        for name, records in assessment.plots.items():
            write_json(staged / name, records)
    write_json(run_out, recorded)
    write_json(metrics_out, assessment.scores)


def evaluate(
    test_file: Path,
    features_file: Path,
    model_dir: Path,
    task: str,
    *,
    positive_class: object = None,
) -> tuple[Assessment, Outcomes]:
    """Score the saved model on the test set (the metrics, the plot data and the per-row
    outcomes); writes nothing."""
    test = read_table(test_file, "split")
    features = read_features(features_file)
    model = tracking.load_model(model_dir)
    inputs = model_inputs(test, features)
    truth = test[features.target]
    assessment = score(model, inputs, truth, task, plots=True, positive_class=positive_class)
    return assessment, from_assessment(row_keys(inputs), truth, assessment, task, positive_class)


def _train_rows(train_file: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(train_file).metadata.num_rows
