"""monitor: check a batch of current data for drift, and the model's metrics on it.

Order matters: the batch is validated first (a batch that breaks the data
contract is reported as invalid, not as drift), then every feature is compared
with the training data, and, when the batch carries the target, the model is
scored on it and compared with metrics.json through the `gates:` rules.

Exit codes: 0 no drift and no degradation; 1 drift or degradation; 2 an error
(bad params, missing files); 3 the batch failed validation.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import gates
from ..core.markdown import table
from ..errors import DataError
from ..integrations.github import write_outputs
from ..io import read_data, read_features, read_metrics, read_table, shown, write_json, write_text
from ..params import Params

if TYPE_CHECKING:  # pandas, SciPy and scikit-learn load when the command runs, not for --help
    import pandas as pd

    from ..core.drift import DriftResult
    from ..core.features import Features

EXIT_OK = 0
EXIT_DRIFT = 1
EXIT_INVALID = 3
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


def batch_performance(params: Params, batch: pd.DataFrame, features: Features) -> dict | None:
    """The model's metrics on the labelled rows of the batch, judged against metrics.json."""
    if features.target not in batch.columns:
        return None
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
        scores = score(
            model, inputs, target, params.task, positive_class=params.data.positive_class
        ).scores
    except (TypeError, ValueError) as error:
        raise DataError(
            f"cannot score the model on the batch's {features.target!r} column ({error}); "
            "check that its labels are of the kind the model was trained on"
        ) from None
    comparisons = gates.compare(evaluated, scores, params.gates)
    failed = gates.failures(comparisons)
    return {
        "labelled_rows": len(labelled),
        "metrics": scores,
        "degraded": bool(failed),
        "comparisons": [
            {
                "metric": c.name,
                "baseline": c.baseline,
                "batch": c.candidate,
                "verdict": c.verdict,
                "explanation": c.explain(),
            }
            for c in comparisons
        ],
    }


def status_of(drift: DriftResult | None, performance: dict | None) -> str:
    drifted = drift is not None and drift.detected
    degraded = performance is not None and performance["degraded"]
    if drifted and degraded:
        return "drift and degradation"
    return "drift" if drifted else "degradation" if degraded else "ok"


def _number(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2e}" if 0 < abs(value) < 1e-3 else f"{value:.4f}"


def render_markdown(report: dict[str, Any], validation_markdown: str | None = None) -> str:
    lines = ["## Drift and performance monitoring", ""]
    lines.append(f"Batch `{report['batch']}` ({report['batch_rows']} rows) against the training")
    lines.append(f"data `{report['reference']}` ({report['reference_rows']} rows).")
    lines.append("")
    if report["status"] == "invalid":
        lines += ["**Verdict: the batch failed validation**; drift was not checked.", ""]
        if validation_markdown:
            lines += [validation_markdown, ""]
        return "\n".join(lines)
    drift = report["drift"]
    verdict = "drift detected" if drift["detected"] else "no drift"
    lines.append(
        f"**Data drift: {verdict}**: {len(drift['drifted_features'])} of "
        f"{len(drift['features'])} features drifted ({drift['share']:.0%}; the threshold is "
        f"{drift['threshold']:.0%}). A feature drifts when its p-value after "
        f"{drift['correction']} correction is below {report['settings']['alpha']} and its "
        f"PSI exceeds {report['settings']['psi_threshold']}."
    )
    psi_of = {feature["feature"]: feature["psi"] for feature in drift["features"]}
    for name in drift.get("alarming_features", []):
        lines.append("")
        lines.append(
            f"**Feature `{name}` alone raises the alarm**: its PSI "
            f"{_number(psi_of[name])} passes `monitoring.psi_alarm` ({drift['psi_alarm']})."
        )
    lines.append("")
    performance = report["performance"]
    if performance is None:
        lines.append("**Model performance: not checked** (the batch has no labels).")
    else:
        verdict = "degraded" if performance["degraded"] else "no degradation"
        lines.append(
            f"**Model performance: {verdict}** on {performance['labelled_rows']} labelled rows."
        )
        rows = [
            [c["metric"], _number(c["baseline"]), _number(c["batch"]), c["verdict"]]
            for c in performance["comparisons"]
        ]
        lines += ["", table(["metric", "evaluation", "batch", "verdict"], rows)]
    rows = []
    for feature in drift["features"]:
        unseen = feature["unseen_categories"]
        note = f" ({len(unseen)} unseen categories)" if unseen else ""
        rows.append(
            [
                feature["feature"] + note,
                feature["test"],
                _number(feature["statistic"]),
                _number(feature["p_value"]),
                _number(feature["p_adjusted"]),
                _number(feature["psi"]),
                "**yes**" if feature["drifted"] else "no",
            ]
        )
    header = ["feature", "test", "statistic", "p-value", "adjusted p-value", "PSI", "drifted?"]
    lines += ["", table(header, rows)]
    return "\n".join(lines) + "\n"


def write_reports(params: Params, report: dict[str, Any], markdown: str) -> None:
    write_json(params.paths.drift, report)
    write_text(params.paths.drift_summary, markdown)


def github_outputs(report: dict[str, Any]) -> None:
    """Under GitHub Actions, expose the verdicts as step outputs for the next jobs."""
    drifted = report["drift"] is not None and report["drift"]["detected"]
    degraded = report["performance"] is not None and report["performance"]["degraded"]
    write_outputs(
        {
            "status": report["status"],
            "drift": str(drifted).lower(),
            "degraded": str(degraded).lower(),
        }
    )


def run(params: Params, args: argparse.Namespace) -> int:
    from ..core.drift import ReferenceProfile, detect

    batch_path = Path(args.batch) if getattr(args, "batch", None) else params.monitoring.batch
    print(f"monitor: reading the batch {shown(batch_path, params.root)} and the training data")
    batch = read_batch(batch_path)
    features = read_features(params.paths.features)
    reference = read_table(params.paths.train, "split")
    report: dict[str, Any] = {
        "batch": shown(batch_path, params.root),
        "batch_rows": len(batch),
        "reference": shown(params.paths.train, params.root),
        "reference_rows": len(reference),
        "settings": {
            "alpha": params.monitoring.alpha,
            "correction": params.monitoring.correction,
            "psi_threshold": params.monitoring.psi_threshold,
            "psi_bins": params.monitoring.psi_bins,
            "drift_share": params.monitoring.drift_share,
            "psi_alarm": params.monitoring.psi_alarm,
        },
        "validation": None,
        "drift": None,
        "performance": None,
    }

    print(f"monitor: validating {len(batch)} rows with suite {params.validation.suite}")
    validation = validate_batch(batch, params)
    report["validation"] = validation.to_dict()
    if not validation.success:
        report.update(status="invalid", exit_code=EXIT_INVALID)
        write_reports(params, report, render_markdown(report, validation.to_markdown()))
        github_outputs(report)
        named = dict.fromkeys(
            f"{failure.column} ({failure.expectation.removeprefix('expect_')})"
            for failure in validation.failures
            if getattr(failure, "column", None)
        )
        print(
            f"monitor: batch {report['batch']} failed validation"
            + (f" on {', '.join(named)}" if named else "")
            + f"; see {shown(params.paths.drift_summary, params.root)}"
        )
        return EXIT_INVALID

    missing = [column for column in features.columns if column not in batch.columns]
    if missing:
        raise DataError(
            f"batch {report['batch']} lacks feature columns {', '.join(missing)}; "
            "monitor a batch with the columns the model was trained on"
        )
    print(f"monitor: comparing {len(features.columns)} features with the training data")
    profile = ReferenceProfile.build(reference, features, params.monitoring.psi_bins)
    drift = detect(profile, batch, params.monitoring)
    if features.target in batch.columns:
        print(f"monitor: scoring the model on the batch's labelled rows ({features.target})")
    performance = batch_performance(params, batch, features)
    report["drift"] = drift.to_dict()
    report["performance"] = performance
    report["status"] = status_of(drift, performance)
    code = EXIT_OK if report["status"] == "ok" else EXIT_DRIFT
    report["exit_code"] = code
    write_reports(params, report, render_markdown(report))
    github_outputs(report)

    drifted = ", ".join(drift.drifted_features) or "none"
    print(
        f"monitor: {report['status']}; {len(drift.drifted_features)}/{len(drift.features)} "
        f"features drifted ({drifted}) -> "
        f"{shown(params.paths.drift, params.root)}"
    )
    for name in drift.alarming_features:
        psi_value = next(result.psi for result in drift.features if result.feature == name)
        print(
            f"  {name}: PSI {psi_value:.2f} passes monitoring.psi_alarm "
            f"({params.monitoring.psi_alarm}): drift, whatever the share of features"
        )
    for comparison in (performance or {}).get("comparisons", []):
        if comparison["verdict"] == gates.REGRESSED:
            print(f"  {comparison['explanation']}")
    if code != EXIT_OK and getattr(args, "no_fail", False):
        return EXIT_OK
    return code
