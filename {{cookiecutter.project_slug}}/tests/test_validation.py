"""The data gate: the shipped suites pass the default data, and corruptions are named."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.commands.suggest_suite import run as suggest_run
from {{ cookiecutter.package_name }}.integrations.gx import SuiteError, validate_frame
from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.stages import ingest, validate

from .conftest import PROJECT_ROOT, TASKS

CONTRACT = {"success", "suite", "data", "evaluated", "failed", "failures"}
FAILURE_KEYS = {"expectation", "column", "expected", "observed", "unexpected_values"}


def with_suite(params):
    """Give a scratch project its suite: the shipped one, or a fresh draft for the other task."""
    shipped = PROJECT_ROOT / params.suite_path.relative_to(params.root)
    if shipped.is_file():
        params.suite_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shipped, params.suite_path)
    else:
        suggest_run(params)
    return params


@pytest.fixture
def classification(write_params):
    params = with_suite(load_params(write_params(TASKS["classification"])))
    ingest.run(params)
    return params


@pytest.mark.parametrize("task", sorted(TASKS))
def test_default_data_passes_and_the_reports_follow_the_contract(write_params, task, capsys):
    params = with_suite(load_params(write_params(TASKS[task])))
    ingest.run(params)
    assert validate.run(params) == 0
    report = json.loads(params.paths.validation.read_text())
    assert set(report) == CONTRACT | {"training_checks"}
    assert report["training_checks"] == 1 + len(
        json.loads(params.paths.features.read_text())["numeric"]
    )
    assert report["success"] is True and report["failed"] == 0 and report["failures"] == []
    assert report["suite"] == params.validation.suite and report["evaluated"] > 20
    assert report["data"] == "data/raw/data.parquet"
    assert "passed" in params.paths.validation_summary.read_text()
    assert "passed: all" in capsys.readouterr().out


def corrupt(frame: pd.DataFrame, how: str) -> pd.DataFrame:
    frame = frame.copy()
    if how == "missing column":
        return frame.drop(columns="mean_area")
    if how == "extra column":
        return frame.assign(surprise=1.0)
    if how == "nulls":
        frame.loc[:4, "mean_radius"] = np.nan
    elif how == "out of range":
        frame.loc[3, "mean_texture"] = 1e6
    elif how == "strings in a number column":
        frame["mean_smoothness"] = frame["mean_smoothness"].astype(str)
        frame.loc[2, "mean_smoothness"] = "twelve"
    elif how == "empty":
        return frame.head(0)
    elif how == "unknown label":
        frame.loc[5, "target"] = 2
    return frame


CORRUPTIONS = {
    "missing column": ("expect_table_columns_to_match_set", None, "mean_area"),
    "extra column": ("expect_table_columns_to_match_set", None, "surprise"),
    "nulls": ("expect_column_values_to_not_be_null", "mean_radius", "5 of 569 rows"),
    "out of range": ("expect_column_values_to_be_between", "mean_texture", "1000000.0"),
    "strings in a number column": (
        "expect_column_values_to_be_in_type_list",
        "mean_smoothness",
        "'twelve'",
    ),
    "empty": ("expect_table_row_count_to_be_between", None, "0 rows"),
    "unknown label": ("expect_column_values_to_be_in_set", "target", "one of 0, 1"),
}


@pytest.mark.parametrize("how", sorted(CORRUPTIONS))
def test_each_corruption_is_named(classification, how):
    raw = pd.read_parquet(classification.paths.raw)
    result = validate_frame(corrupt(raw, how), classification.suite_path, data="corrupted.csv")
    expectation, column, shown = CORRUPTIONS[how]
    assert not result.success
    named = [(f.expectation, f.column) for f in result.failures]
    assert (expectation, column) in named
    report = result.to_dict()
    assert set(report) == CONTRACT and report["failed"] == len(report["failures"])
    assert all(set(failure) == FAILURE_KEYS for failure in report["failures"])
    json.dumps(report, allow_nan=False)  # plain JSON, no NaN
    for text in (result.to_text(), result.to_markdown()):
        line = next(line for line in text.splitlines() if expectation in line)
        assert shown in line and (column is None or column in line)


def test_data_that_left_the_row_count_band_says_which_bound_to_move(classification):
    raw = pd.read_parquet(classification.paths.raw)
    suite = json.loads(classification.suite_path.read_text())
    [band] = [
        e["kwargs"] for e in suite["expectations"]
        if e["type"] == "expect_table_row_count_to_be_between"
    ]  # fmt: skip
    grown = pd.concat([raw, raw, raw], ignore_index=True)  # a few weeks of appended rows
    assert len(grown) > band["max_value"]
    result = validate_frame(grown, classification.suite_path)
    for text in (result.to_text(), " ".join(result.to_markdown().split())):
        assert (
            f"The data has {len(grown)} rows, more than the {band['max_value']} the suite "
            "allows. If it grew as expected (new data appended), raise `max_value` of "
            "`expect_table_row_count_to_be_between` in the suite's file "
            f"({classification.validation.suite}.json under the GX folder)"
        ) in " ".join(text.split())
    shrunk = validate_frame(raw.head(band["min_value"] - 1), classification.suite_path)
    assert "lower `min_value` of `expect_table_row_count_to_be_between`" in shrunk.to_text()
    assert "raise `max_value`" not in shrunk.to_text()
    # One failure elsewhere, the row count inside the band: no note on the row count.
    other = validate_frame(corrupt(raw, "unknown label"), classification.suite_path).to_text()
    assert "FAILED" in other and "_value` of" not in other


def test_a_failure_exits_1_and_still_writes_both_reports(classification, capsys):
    raw = pd.read_parquet(classification.paths.raw)
    raw.loc[0, "target"] = 7
    raw.to_parquet(classification.paths.raw)
    assert validate.run(classification) == 1
    report = json.loads(classification.paths.validation.read_text())
    assert report["success"] is False
    assert report["failures"][0]["unexpected_values"] == [7]
    assert "| expect_column_values_to_be_in_set | target |" in (
        classification.paths.validation_summary.read_text()
    )
    assert "FAILED: 1 of" in capsys.readouterr().out


def test_failures_come_in_suite_order_and_reports_are_stable(classification):
    raw = pd.read_parquet(classification.paths.raw)
    broken = corrupt(corrupt(raw, "unknown label"), "nulls").drop(columns="worst_area")
    first = validate_frame(broken, classification.suite_path).to_dict()
    assert validate_frame(broken, classification.suite_path).to_dict() == first
    kinds = [failure["expectation"] for failure in first["failures"]]
    assert kinds[0] == "expect_table_columns_to_match_set"
    columns = [failure["column"] for failure in first["failures"][1:]]
    assert columns.index("mean_radius") < columns.index("worst_area") < columns.index("target")


def test_another_data_set_gets_a_short_table_and_a_hint(classification):
    other = pd.DataFrame({"tenure": [1.0, 2.0], "target": [0, 1]})
    result = validate_frame(other, classification.suite_path)
    assert len(result.to_dict()["failures"]) > 80  # every expectation on a missing column
    text = result.to_text()
    assert len(text.splitlines()) < 10
    assert "expectations on the missing columns" in text
    assert "set validation.suite in params.yaml, then run `mlops suggest-suite`" in text
    assert "`mlops suggest-suite`" in result.to_markdown()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "suite file not found; write one with `mlops suggest-suite`"),
        ('{"name": "x", "expectations": [', "not valid JSON at line 1"),
        ("[]", "not an expectation suite"),
        ('{"name": "other", "expectations": []}', "the suite is named 'other'"),
        ('{"name": "{suite}", "expectations": []}', "the suite has no expectations"),
        (
            '{"name": "{suite}", "expectations": [{"type": "expect_magic", "kwargs": {}}]}',
            "expectation 1 (expect_magic) is not valid",
        ),
        (
            '{"name": "{suite}", "expectations": [{"type": '
            '"expect_column_values_to_be_between", "kwargs": {"colum": "a", "min_value": 1}}]}',
            "expectation 1 (expect_column_values_to_be_between) is not valid",
        ),
        ('{"name": "{suite}", "expectations": [{"kwargs": {}}]}', "needs a string `type`"),
    ],
)
def test_a_bad_suite_file_is_named_with_the_problem(classification, content, expected):
    path = classification.suite_path
    if content is None:
        path.unlink()
    else:
        path.write_text(content.replace("{suite}", classification.validation.suite))
    with pytest.raises(SuiteError) as caught:
        validate.run(classification)
    assert str(caught.value).startswith(f"{path}: ")
    assert expected in str(caught.value)
    assert not classification.paths.validation.exists()


def test_any_batch_file_can_be_checked(classification, tmp_path, capsys):
    batch = tmp_path / "batch.csv"
    corrupt(pd.read_parquet(classification.paths.raw), "extra column").to_csv(batch, index=False)
    args = validate.Options(data=batch)
    assert validate.run(classification, args) == 1
    assert "unexpected: surprise" in capsys.readouterr().out
    assert not classification.paths.validation.exists(), "a batch check leaves the gate alone"


@pytest.mark.parametrize("command", ["validate", "suggest-suite", "data-docs"])
def test_great_expectations_is_imported_only_when_validating(command):
    probe = (
        "import sys; from {{ cookiecutter.package_name }}.cli import main\n"
        f"try: main([{command!r}, '--help'])\n"
        "except SystemExit: pass\n"
        "print('gx loaded:', 'great_expectations' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "gx loaded: False"


def test_a_batch_is_checked_for_structure_and_labels_not_for_size_or_ranges(classification):
    frame = pd.read_parquet(classification.paths.raw)
    small_shifted = frame.head(40).copy()
    small_shifted["mean_radius"] += 100.0  # far outside the suite's range: drift, not invalid

    assert not validate_frame(small_shifted, classification.suite_path).success
    assert validate_frame(
        small_shifted, classification.suite_path, batch_target=classification.data.target
    ).success

    unlabelled = small_shifted.drop(columns="target")
    assert validate_frame(
        unlabelled, classification.suite_path, batch_target=classification.data.target
    ).success

    broken = small_shifted.copy()
    broken["mean_area"] = "n/a"
    result = validate_frame(
        broken, classification.suite_path, batch_target=classification.data.target
    )
    assert not result.success
    assert {failure.column for failure in result.failures} == {"mean_area"}

    bad_labels = small_shifted.copy()
    bad_labels.loc[bad_labels.index[0], "target"] = 7
    result = validate_frame(
        bad_labels, classification.suite_path, batch_target=classification.data.target
    )
    assert [failure.column for failure in result.failures] == ["target"]


OWN_DATA = {"data": {"source": "data/input/customers.csv", "target": "churned"}}


@pytest.fixture
def own_project(write_params, mixed_csv):
    """Own data with a suite drafted from it, as the README's own-data steps leave it."""
    params = load_params(
        write_params(TASKS["classification"], OWN_DATA, validation={"suite": "customers"})
    )
    suggest_run(params)
    return params, mixed_csv


def test_a_single_class_target_stops_the_pipeline_at_validate(own_project, capsys):
    params, csv = own_project
    frame = pd.read_csv(csv)
    frame["churned"] = 0
    frame.to_csv(csv, index=False)
    ingest.run(params)
    assert validate.run(params) == 1
    report = json.loads(params.paths.validation.read_text())
    failed = {(f["expectation"], f["column"]) for f in report["failures"]}
    assert failed == {
        ("expect_column_unique_value_count_to_be_between", "churned"),
        ("training:target_has_two_classes", "churned"),
    }
    training = next(f for f in report["failures"] if f["expectation"].startswith("training:"))
    assert training["observed"] == "target 'churned' has 1 class (0)"
    assert "two classes" in training["fix"]
    out = capsys.readouterr().out
    assert "FAILED: 1 of 21 expectations of suite 'customers' and 1 of 6 checks" in out
    assert "Training needs: target 'churned' has 1 class (0); a classifier needs" in out
    assert "Training needs" in params.paths.validation_summary.read_text()


def test_an_empty_feature_column_stops_the_pipeline_at_validate(own_project):
    params, csv = own_project
    frame = pd.read_csv(csv)
    frame["income"] = np.nan
    frame.to_csv(csv, index=False)
    ingest.run(params)
    assert validate.run(params) == 1
    report = json.loads(params.paths.validation.read_text())
    assert [(f["expectation"], f["column"]) for f in report["failures"]] == [
        ("expect_column_values_to_not_be_null", "income")
    ]


def test_a_class_with_one_row_and_a_listed_empty_feature_fail_the_training_checks(
    own_project, write_params
):
    params, csv = own_project
    params = load_params(
        write_params(
            TASKS["classification"],
            OWN_DATA,
            validation={"suite": "customers"},
            data={"numeric_features": ["age", "income"], "categorical_features": ["plan"]},
        )
    )
    frame = pd.read_csv(csv)
    frame.loc[0, "churned"] = 2  # a third class with one row
    frame["income"] = np.nan
    frame.to_csv(csv, index=False)
    ingest.run(params)
    assert validate.run(params) == 1
    training = {
        f["expectation"]: f
        for f in json.loads(params.paths.validation.read_text())["failures"]
        if f["expectation"].startswith("training:")
    }
    assert set(training) == {
        "training:target_classes_have_enough_rows",
        "training:feature_has_values",
    }
    assert training["training:target_classes_have_enough_rows"]["unexpected_values"] == [2]
    assert training["training:feature_has_values"]["column"] == "income"


def test_a_monitoring_batch_of_one_class_is_not_held_to_the_class_count(own_project):
    params, csv = own_project
    batch = pd.read_csv(csv).head(50)
    batch["churned"] = 1  # a small batch of one class is a fine batch to monitor
    assert validate_frame(batch, params.suite_path, batch_target="churned").success
    # ...but not as data to train on: `validate --data` checks it as a data set.
    assert not validate_frame(batch, params.suite_path).success
