"""What `mlops monitor` concludes from what it measured, and how it says it.

The command reads the batch, validates it, measures drift and scores the model; the
verdict (status and exit code), the report's record of the settings and of the
model's performance, the Markdown summary, the step outputs and the console lines
are decided here from those results, so they are tested without data files, GX,
MLflow or a model.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..params import MonitoringParams
from .gates import REGRESSED, Comparison
from .markdown import table

if TYPE_CHECKING:
    from .paired import Difference

EXIT_OK = 0
EXIT_DRIFT = 1
EXIT_INVALID = 3
INVALID = "invalid"
OK = "ok"


def new_report(
    batch: str, batch_rows: int, reference: str, reference_rows: int, settings: MonitoringParams
) -> dict[str, Any]:
    """The report before any check ran: what is compared with what, and the thresholds."""
    return {
        "batch": batch,
        "batch_rows": batch_rows,
        "reference": reference,
        "reference_rows": reference_rows,
        "settings": {
            "alpha": settings.alpha,
            "correction": settings.correction,
            "psi_threshold": settings.psi_threshold,
            "psi_bins": settings.psi_bins,
            "drift_share": settings.drift_share,
            "psi_alarm": settings.psi_alarm,
        },
        "validation": None,
        "drift": None,
        "performance": None,
    }


def performance_record(
    labelled_rows: int,
    scores: dict[str, float],
    comparisons: list[Comparison],
    changes: dict[str, Difference] | None = None,
    test_rows: int | None = None,
) -> dict[str, Any]:
    """The model's metrics on the batch against metrics.json, as the report keeps them.

    `changes`: each metric's batch - test set change with its interval (core.noise
    refined the verdicts from them); None when the test set's outcomes were not there,
    and every verdict is the point comparison's. `test_rows`: the test set's size.
    """
    changes = changes or {}
    return {
        "labelled_rows": labelled_rows,
        "test_rows": test_rows,
        "intervals": bool(changes),
        "metrics": scores,
        "degraded": any(comparison.fails for comparison in comparisons),
        "comparisons": [
            {
                "metric": c.name,
                "baseline": c.baseline,
                "batch": c.candidate,
                "change_interval": _bounds(changes.get(c.name)),
                "verdict": c.verdict,
                "explanation": c.explain(),
            }
            for c in comparisons
        ],
    }


def _bounds(change: Difference | None) -> list[float] | None:
    return None if change is None else [change.delta.low, change.delta.high]


def _drifted(report: dict[str, Any]) -> bool:
    return report["drift"] is not None and bool(report["drift"]["detected"])


def _degraded(report: dict[str, Any]) -> bool:
    return report["performance"] is not None and bool(report["performance"]["degraded"])


def status_of(report: dict[str, Any]) -> str:
    drifted, degraded = _drifted(report), _degraded(report)
    if drifted and degraded:
        return "drift and degradation"
    return "drift" if drifted else "degradation" if degraded else OK


def invalid(report: dict[str, Any]) -> dict[str, Any]:
    """The report of a batch that broke the data contract: drift is not checked."""
    return {**report, "status": INVALID, "exit_code": EXIT_INVALID}


def concluded(
    report: dict[str, Any], drift: dict[str, Any], performance: dict[str, Any] | None
) -> dict[str, Any]:
    """The report with the drift and performance results, its status and exit code."""
    done = {**report, "drift": drift, "performance": performance}
    status = status_of(done)
    return {**done, "status": status, "exit_code": EXIT_OK if status == OK else EXIT_DRIFT}


def exit_code(report: dict[str, Any], *, no_fail: bool) -> int:
    """What the command exits with: --no-fail turns drift and degradation into 0, never
    an invalid batch."""
    code = int(report["exit_code"])
    return EXIT_OK if no_fail and code == EXIT_DRIFT else code


def step_outputs(report: dict[str, Any]) -> dict[str, str]:
    """The verdicts as GitHub Actions step outputs, for the jobs that follow."""
    return {
        "status": report["status"],
        "drift": str(_drifted(report)).lower(),
        "degraded": str(_degraded(report)).lower(),
    }


def refused_columns(failures: Iterable[object]) -> list[str]:
    """The columns a validation refused, each with the expectation it broke, once each."""
    return list(
        dict.fromkeys(
            f"{column} ({str(getattr(failure, 'expectation', '')).removeprefix('expect_')})"
            for failure in failures
            if (column := getattr(failure, "column", None))
        )
    )


def console_lines(report: dict[str, Any], written: str) -> list[str]:
    """What the command prints once drift and performance were checked."""
    drift = report["drift"]
    drifted = ", ".join(drift["drifted_features"]) or "none"
    lines = [
        f"monitor: {report['status']}; {len(drift['drifted_features'])}/"
        f"{len(drift['features'])} features drifted ({drifted}) -> {written}"
    ]
    psi_of = {feature["feature"]: feature["psi"] for feature in drift["features"]}
    for name in drift.get("alarming_features", []):
        psi = "n/a" if psi_of[name] is None else f"{psi_of[name]:.2f}"
        lines.append(
            f"  {name}: PSI {psi} passes monitoring.psi_alarm "
            f"({drift['psi_alarm']}): drift, whatever the share of features"
        )
    for comparison in (report["performance"] or {}).get("comparisons", []):
        if comparison["verdict"] == REGRESSED:
            lines.append(f"  {comparison['explanation']}")
    return lines


def _number(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2e}" if 0 < abs(value) < 1e-3 else f"{value:.4f}"


def _drift_lines(report: dict[str, Any]) -> list[str]:
    drift = report["drift"]
    verdict = "drift detected" if drift["detected"] else "no drift"
    lines = [
        f"**Data drift: {verdict}**: {len(drift['drifted_features'])} of "
        f"{len(drift['features'])} features drifted ({drift['share']:.0%}; the threshold is "
        f"{drift['threshold']:.0%}). A feature drifts when its p-value after "
        f"{drift['correction']} correction is below {report['settings']['alpha']} and its "
        f"PSI exceeds {report['settings']['psi_threshold']}."
    ]
    psi_of = {feature["feature"]: feature["psi"] for feature in drift["features"]}
    for name in drift.get("alarming_features", []):
        lines += [
            "",
            f"**Feature `{name}` alone raises the alarm**: its PSI "
            f"{_number(psi_of[name])} passes `monitoring.psi_alarm` ({drift['psi_alarm']}).",
        ]
    return lines


def _performance_lines(performance: dict[str, Any] | None) -> list[str]:
    if performance is None:
        return ["**Model performance: not checked** (the batch has no labels)."]
    verdict = "degraded" if performance["degraded"] else "no degradation"
    rows = [
        [
            c["metric"],
            _number(c["baseline"]),
            _number(c["batch"]),
            _interval_text(c.get("change_interval")),
            c["verdict"],
        ]
        for c in performance["comparisons"]
    ]
    if performance.get("intervals"):
        how = (
            f"Each change has a 95% bootstrap interval (the batch's and the test set's "
            f"{performance.get('test_rows')} rows resampled apart); with `decide: interval` "
            "(`gates` in params.yaml) a metric is degraded only when its whole interval lies "
            "beyond the tolerance, so a small batch's noise raises no alarm."
        )
    else:
        how = (
            "Every metric is judged by its value alone: the test set's per-row outcomes "
            "(`paths.outcomes`) were not there to give the change an interval; "
            "`dvc repro evaluate` or `mlops pull` brings them."
        )
    return [
        f"**Model performance: {verdict}** on {performance['labelled_rows']} labelled rows. " + how,
        "",
        table(["metric", "evaluation", "batch", "change (95% interval)", "verdict"], rows),
    ]


def _interval_text(bounds: list[float] | None) -> str:
    if bounds is None:
        return "n/a"
    low, high = bounds
    return f"{low:+.4f} to {high:+.4f}"


def _features_table(features: list[dict[str, Any]]) -> str:
    rows = []
    for feature in features:
        unseen = feature["unseen_categories"]
        note = f" ({len(unseen)} unseen categories)" if unseen else ""
        rows.append(
            [
                feature["feature"] + note,
                feature["test"],
                *(_number(feature[key]) for key in ("statistic", "p_value", "p_adjusted", "psi")),
                "**yes**" if feature["drifted"] else "no",
            ]
        )
    header = ["feature", "test", "statistic", "p-value", "adjusted p-value", "PSI", "drifted?"]
    return table(header, rows)


def render_markdown(report: dict[str, Any], validation_markdown: str | None = None) -> str:
    """The summary a person reads (reports/drift.md, the issue a scheduled run opens)."""
    lines = [
        "## Drift and performance monitoring",
        "",
        f"Batch `{report['batch']}` ({report['batch_rows']} rows) against the training",
        f"data `{report['reference']}` ({report['reference_rows']} rows).",
        "",
    ]
    if report["status"] == INVALID:
        lines += ["**Verdict: the batch failed validation**; drift was not checked.", ""]
        if validation_markdown:
            lines += [validation_markdown, ""]
        return "\n".join(lines)
    lines += _drift_lines(report)
    lines += ["", *_performance_lines(report["performance"])]
    lines += ["", _features_table(report["drift"]["features"])]
    return "\n".join(lines) + "\n"
