"""The monitor's verdict and summary, decided from results alone: no data, GX, MLflow or model."""

from types import SimpleNamespace

import pytest

from {{ cookiecutter.package_name }}.core import monitoring
from {{ cookiecutter.package_name }}.core.gates import compare
from {{ cookiecutter.package_name }}.params import MonitoringParams
from {{ cookiecutter.package_name }}.vocabulary import MetricRule

SETTINGS = MonitoringParams(
    drift_share=0.5,
    batch="data/batch.csv",
    alpha=0.05,
    correction="holm",
    psi_threshold=0.2,
    psi_bins=10,
    psi_alarm=1.0,
)
RULES = {"accuracy": MetricRule("higher", abs_tolerance=0.02)}


def feature(name, *, drifted=False, psi=0.01, unseen=None):
    return {
        "feature": name,
        "test": "ks",
        "statistic": 0.1,
        "p_value": 0.5,
        "p_adjusted": 0.0004,
        "psi": psi,
        "drifted": drifted,
        "unseen_categories": unseen or {},
    }


def drift(*features, detected=False, alarming=()):
    drifted = [f["feature"] for f in features if f["drifted"]]
    return {
        "detected": detected,
        "share": len(drifted) / len(features),
        "threshold": 0.5,
        "correction": "holm",
        "psi_alarm": 1.0,
        "drifted_features": drifted,
        "alarming_features": list(alarming),
        "features": list(features),
    }


def performance(baseline, batch):
    comparisons = compare({"accuracy": baseline}, {"accuracy": batch}, RULES)
    return monitoring.performance_record(40, {"accuracy": batch}, comparisons)


def concluded(drift_result, performance_result=None):
    report = monitoring.new_report("batch.csv", 50, "train.parquet", 200, SETTINGS)
    return monitoring.concluded(report, drift_result, performance_result)


CLEAN = drift(feature("a"), feature("b"))
DRIFTED = drift(feature("a", drifted=True, psi=0.4), feature("b"), detected=True)


@pytest.mark.parametrize(
    ("drift_result", "batch_accuracy", "status", "code"),
    [
        (CLEAN, None, "ok", 0),
        (CLEAN, 0.95, "ok", 0),
        (DRIFTED, None, "drift", 1),
        (CLEAN, 0.80, "degradation", 1),
        (DRIFTED, 0.80, "drift and degradation", 1),
    ],
)
def test_the_verdict_and_exit_code(drift_result, batch_accuracy, status, code):
    measured = None if batch_accuracy is None else performance(0.95, batch_accuracy)
    report = concluded(drift_result, measured)
    assert (report["status"], report["exit_code"]) == (status, code)
    assert monitoring.exit_code(report, no_fail=False) == code
    assert monitoring.exit_code(report, no_fail=True) == 0


def test_no_fail_never_hides_an_invalid_batch():
    report = monitoring.invalid(monitoring.new_report("b.csv", 5, "t.parquet", 9, SETTINGS))
    assert report["status"] == "invalid" and report["drift"] is None
    assert monitoring.exit_code(report, no_fail=True) == monitoring.EXIT_INVALID


def test_the_report_records_the_thresholds_it_judged_with():
    report = monitoring.new_report("b.csv", 5, "t.parquet", 9, SETTINGS)
    assert report["settings"] == {
        "alpha": 0.05,
        "correction": "holm",
        "psi_threshold": 0.2,
        "psi_bins": 10,
        "drift_share": 0.5,
        "psi_alarm": 1.0,
    }


def test_a_regressed_metric_is_degradation_with_its_explanation():
    record = performance(0.95, 0.80)
    assert record["degraded"] and record["labelled_rows"] == 40
    (comparison,) = record["comparisons"]
    assert comparison["verdict"] == "regressed"
    assert comparison["baseline"] == 0.95 and comparison["batch"] == 0.80
    assert comparison["explanation"].startswith("accuracy regressed: 0.9500 -> 0.8000")
    assert not performance(0.95, 0.94)["degraded"]


def test_step_outputs_say_each_verdict():
    report = concluded(DRIFTED, performance(0.95, 0.80))
    assert monitoring.step_outputs(report) == {
        "status": "drift and degradation",
        "drift": "true",
        "degraded": "true",
    }
    assert monitoring.step_outputs(concluded(CLEAN)) == {
        "status": "ok",
        "drift": "false",
        "degraded": "false",
    }


def test_the_refused_columns_are_named_once_each():
    failures = [
        SimpleNamespace(column="age", expectation="expect_column_values_to_be_of_type"),
        SimpleNamespace(column="age", expectation="expect_column_values_to_be_of_type"),
        SimpleNamespace(column=None, expectation="expect_table_row_count_to_be_between"),
        "a failure without a column",
    ]
    assert monitoring.refused_columns(failures) == ["age (column_values_to_be_of_type)"]


def test_the_console_names_drift_alarms_and_regressions():
    alarming = drift(
        feature("a", drifted=True, psi=2.5), feature("b"), detected=True, alarming=["a"]
    )
    lines = monitoring.console_lines(concluded(alarming, performance(0.95, 0.80)), "drift.json")
    assert lines[0] == "monitor: drift and degradation; 1/2 features drifted (a) -> drift.json"
    assert lines[1] == (
        "  a: PSI 2.50 passes monitoring.psi_alarm (1.0): drift, whatever the share of features"
    )
    assert lines[2].startswith("  accuracy regressed:")
    assert len(lines) == 3


def test_the_markdown_summary():
    alarming = drift(
        feature("a", drifted=True, psi=2.5, unseen={"mars": 3}),
        feature("b"),
        detected=True,
        alarming=["a"],
    )
    markdown = monitoring.render_markdown(concluded(alarming, performance(0.95, 0.80)))
    assert markdown.startswith(
        "## Drift and performance monitoring\n\n"
        "Batch `batch.csv` (50 rows) against the training\n"
        "data `train.parquet` (200 rows).\n\n"
        "**Data drift: drift detected**: 1 of 2 features drifted (50%; the threshold is 50%). "
        "A feature drifts when its p-value after holm correction is below 0.05 and its PSI "
        "exceeds 0.2.\n\n"
        "**Feature `a` alone raises the alarm**: its PSI 2.5000 passes "
        "`monitoring.psi_alarm` (1.0).\n\n"
        "**Model performance: degraded** on 40 labelled rows. Every metric is judged by its "
        "value alone: the test set's per-row outcomes (`paths.outcomes`) were not there to "
        "give the change an interval; `dvc repro evaluate` or `mlops pull` brings them.\n"
    )
    assert "| accuracy | 0.9500 | 0.8000 | n/a | regressed |" in markdown
    assert "| a (1 unseen categories) | ks | 0.1000 | 0.5000 | 4.00e-04 | 2.5000 | **yes** |" in (
        markdown
    )
    assert markdown.endswith("| **no** |\n") is False and markdown.endswith("| no |\n")


def test_intervals_refine_the_verdict_and_show_in_the_record_and_the_summary():
    from {{ cookiecutter.package_name }}.core.noise import Noise, refine
    from {{ cookiecutter.package_name }}.core.paired import Difference, Interval

    # 0.95 -> 0.90 is beyond the 0.02 tolerance at the point, not over the whole interval.
    comparisons = compare({"accuracy": 0.95}, {"accuracy": 0.90}, RULES)
    assert comparisons[0].verdict == "regressed"
    changes = {"accuracy": Difference("accuracy", 0.95, 0.90, Interval(-0.05, -0.12, 0.01))}
    refined = refine(comparisons, Noise(40, changes, {}))
    record = monitoring.performance_record(40, {"accuracy": 0.90}, refined, changes, 114)
    assert record["degraded"] is False and record["intervals"] is True
    assert record["test_rows"] == 114
    assert record["comparisons"][0]["verdict"] == "within noise"
    assert record["comparisons"][0]["change_interval"] == [-0.12, 0.01]
    report = concluded(CLEAN, record)
    assert report["status"] == "ok" and monitoring.exit_code(report, no_fail=False) == 0
    markdown = monitoring.render_markdown(report)
    assert "| accuracy | 0.9500 | 0.9000 | -0.1200 to +0.0100 | within noise |" in markdown
    assert "the test set's 114 rows resampled apart" in " ".join(markdown.split())


def test_the_markdown_of_an_unlabelled_batch_and_of_an_invalid_one():
    assert "**Model performance: not checked** (the batch has no labels)." in (
        monitoring.render_markdown(concluded(CLEAN))
    )
    refused = monitoring.invalid(monitoring.new_report("b.csv", 5, "t.parquet", 9, SETTINGS))
    markdown = monitoring.render_markdown(refused, "- age: values out of range")
    assert "**Verdict: the batch failed validation**; drift was not checked." in markdown
    assert "- age: values out of range" in markdown and "Data drift" not in markdown
