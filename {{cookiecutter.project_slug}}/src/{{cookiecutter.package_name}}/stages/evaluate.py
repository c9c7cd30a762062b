"""evaluate: score the model on the held-out set; write metrics.json and plot data, and
record the MLflow run (parameters, tags, the model and its test metrics)."""

from __future__ import annotations

from pathlib import Path

from ..core.features import model_inputs
from ..core.metrics import score
from ..integrations import mlflow as tracking
from ..io import atomic_path, read_features, read_table, shown, write_json
from ..params import Params


def run(params: Params, args: object = None) -> None:
    paths = params.paths
    scores = evaluate(
        paths.test,
        paths.features,
        paths.model,
        params.task,
        positive_class=params.data.positive_class,
        metrics_out=paths.metrics,
        plots_out=paths.plots,
    )
    summary = ", ".join(f"{name}={value:.4f}" for name, value in scores.items())
    print(f"evaluate: {summary} -> {shown(paths.metrics, params.root)}")
    recorded = tracking.record_run(params, scores, train_rows=_train_rows(paths.train))
    write_json(paths.train_run, recorded)
    print(
        f"evaluate: MLflow run {recorded['run_id']} in "
        f"{tracking.redact(tracking.tracking_uri(params))}"
    )


def evaluate(
    test_file: Path,
    features_file: Path,
    model_dir: Path,
    task: str,
    *,
    positive_class: object = None,
    metrics_out: Path,
    plots_out: Path,
) -> dict[str, float]:
    """Score the saved model on the test set; write the metrics and the plot data."""
    test = read_table(test_file, "split")
    features = read_features(features_file)
    model = tracking.load_model(model_dir)
    assessment = score(
        model,
        model_inputs(test, features),
        test[features.target],
        task,
        plots=True,
        positive_class=positive_class,
    )
    with atomic_path(plots_out) as staged:
        staged.mkdir()
        for name, records in assessment.plots.items():
            write_json(staged / name, records)
    write_json(metrics_out, assessment.scores)
    return assessment.scores


def _train_rows(train_file: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(train_file).metadata.num_rows
