"""monitor: check a batch of current data for drift, and the model's metrics on it.

Order matters: the batch is validated first (a batch that breaks the data
contract is reported as invalid, not as drift), then every feature is compared
with the training data, and, when the batch carries the target, the model is
scored on it and compared with metrics.json through the `gates:` rules: each change
gets a two-sample bootstrap interval against the test set's per-row outcomes, and a
metric with `decide: interval` degrades only when its whole interval lies beyond the
tolerance (a batch of sixty rows moves accuracy by 0.017 per row).

Exit codes: 0 no drift and no degradation; 1 drift or degradation; 2 an error
(bad params, missing files); 3 the batch failed validation.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import gates, monitoring
from ..errors import DataError
from ..integrations.github import write_outputs
from ..io import (
    read_data,
    read_features,
    read_metrics,
    read_outcomes,
    read_table,
    shown,
    write_json,
    write_text,
)
from ..params import Params

if TYPE_CHECKING:  # pandas, SciPy and scikit-learn load when the command runs, not for --help
    import pandas as pd

    from ..core.features import Features
    from ..core.metrics import Assessment
    from ..core.paired import Difference

EXIT_CODES_HELP = (
    "exit codes: 0 no drift and no degradation; 1 drift or degradation (0 with --no-fail); "
    "2 error; 3 the batch failed validation"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EXIT_CODES_HELP
    parser.add_argument(
        "--batch",
        type=Path,
        help="CSV or Parquet file of current data (default: monitoring.batch in params.yaml)",
    )
    parser.add_argument(
        "--no-fail",
        action="store_true",
        help="exit 0 on drift or degradation (the verdicts stay in the report and, "
        "under GitHub Actions, in the step outputs); errors still exit non-zero",
    )


@dataclass(frozen=True)
class Options:
    batch: Path | None = None
    no_fail: bool = False


def read_batch(path: Path) -> pd.DataFrame:
    frame = read_data(
        path,
        f"batch {path}",
        missing_hint="make a demo one with `mlops make-batch`, or point monitoring.batch in "
        "params.yaml (or --batch) at your data",
    )
    if frame.empty:
        raise DataError(f"batch {path} has no rows; monitor a batch with data")
    return frame


def validate_batch(frame: pd.DataFrame, params: Params):
    """The project's data validation (Great Expectations) on the batch, imported only here."""
    from ..integrations.gx import validate_frame

    return validate_frame(frame, params.suite_path, data="batch", batch_target=params.data.target)


def batch_performance(
    params: Params, batch: pd.DataFrame, features: Features
) -> dict[str, Any] | None:
    """The model's metrics on the labelled rows of the batch, judged against metrics.json."""
    if features.target not in batch.columns:
        return None
    print(f"monitor: scoring the model on the batch's labelled rows ({features.target})")
    labelled = batch[batch[features.target].notna()]
    if labelled.empty:
        return None
    evaluated = read_metrics(params.paths.metrics)
    from ..core.features import model_inputs
    from ..core.metrics import score
    from ..integrations.mlflow import load_model

    model = load_model(params.paths.model)
    inputs, target = model_inputs(labelled, features), labelled[features.target]
    try:
        assessment = score(
            model, inputs, target, params.task, positive_class=params.data.positive_class
        )
    except (TypeError, ValueError) as error:
        raise DataError(
            f"cannot score the model on the batch's {features.target!r} column ({error}); "
            "check that its labels are of the kind the model was trained on"
        ) from None
    comparisons = gates.compare(evaluated, assessment.scores, params.gates)
    changes, test_rows = changes_from_the_test_set(params, target, assessment)
    if changes:
        from ..core.noise import Noise, refine

        comparisons = refine(comparisons, Noise(len(labelled), changes, {}))
    return monitoring.performance_record(
        len(labelled), assessment.scores, comparisons, changes, test_rows
    )


def changes_from_the_test_set(
    params: Params, target: pd.Series, assessment: Assessment
) -> tuple[dict[str, Difference], int | None]:
    """Each metric's change from the test set (evaluate's per-row outcomes) to the batch,
    with a two-sample bootstrap interval; nothing when the outcomes are not there."""
    import numpy as np

    from ..core.outcomes import from_assessment, from_frame
    from ..core.paired import unpaired

    stored = read_outcomes(params.paths.outcomes)
    if stored is None:
        print(
            f"monitor: no {shown(params.paths.outcomes, params.root)} (the test set's per-row "
            "outcomes): each metric is judged by its value alone; `dvc repro evaluate` or "
            "`mlops pull` brings them"
        )
        return {}, None
    test = from_frame(*stored)
    batch = from_assessment(
        np.arange(len(target)), target, assessment, params.task, params.data.positive_class
    )
    print(
        f"monitor: bootstrap intervals of each metric's change: {len(target)} batch rows "
        f"against {len(test.keys)} test rows"
    )
    found = unpaired(test.rows, test.predictions, batch.rows, batch.predictions)
    # A metric the batch cannot give (one class only: no ROC AUC) keeps its point verdict.
    finite = {
        name: change
        for name, change in found.items()
        if np.isfinite(change.delta.low) and np.isfinite(change.delta.high)
    }
    return finite, len(test.keys)


def publish(params: Params, report: dict[str, Any], validation_markdown: str | None = None) -> None:
    """Write drift.json and its summary, and (under GitHub Actions) the step outputs."""
    write_json(params.paths.drift, report)
    write_text(params.paths.drift_summary, monitoring.render_markdown(report, validation_markdown))
    write_outputs(monitoring.step_outputs(report))


def measure_drift(
    params: Params, batch: pd.DataFrame, reference: pd.DataFrame, features: Features
) -> dict[str, Any]:
    """Each feature of the batch against the training data (SciPy loads here)."""
    from ..core.drift import ReferenceProfile, detect

    print(f"monitor: comparing {len(features.columns)} features with the training data")
    profile = ReferenceProfile.build(reference, features, params.monitoring.psi_bins)
    return detect(profile, batch, params.monitoring).to_dict()


def require_features(batch: pd.DataFrame, features: Features, label: str) -> None:
    """A batch without the model's feature columns is the wrong file, not bad data: one
    line naming them, before the suite lists each missing column as a failed check."""
    missing = [column for column in features.columns if column not in batch.columns]
    if missing:
        raise DataError(
            f"batch {label} lacks feature columns {', '.join(missing)}; "
            "monitor a batch with the columns the model was trained on"
        )


def run(params: Params, options: Options) -> int:
    batch_path = Path(options.batch) if options.batch else params.monitoring.batch
    print(f"monitor: reading the batch {shown(batch_path, params.root)} and the training data")
    batch = read_batch(batch_path)
    features = read_features(params.paths.features)
    reference = read_table(params.paths.train, "split")
    report = monitoring.new_report(
        shown(batch_path, params.root),
        len(batch),
        shown(params.paths.train, params.root),
        len(reference),
        params.monitoring,
    )
    require_features(batch, features, report["batch"])
    print(f"monitor: validating {len(batch)} rows with suite {params.validation.suite}")
    validation = validate_batch(batch, params)
    report = {**report, "validation": validation.to_dict()}
    if not validation.success:
        report = monitoring.invalid(report)
        publish(params, report, validation.to_markdown())
        named = monitoring.refused_columns(validation.failures)
        print(
            f"monitor: batch {report['batch']} failed validation"
            + (f" on {', '.join(named)}" if named else "")
            + f"; see {shown(params.paths.drift_summary, params.root)}"
        )
        return monitoring.EXIT_INVALID
    drift = measure_drift(params, batch, reference, features)
    report = monitoring.concluded(report, drift, batch_performance(params, batch, features))
    publish(params, report)
    for line in monitoring.console_lines(report, shown(params.paths.drift, params.root)):
        print(line)
    return monitoring.exit_code(report, no_fail=options.no_fail)
