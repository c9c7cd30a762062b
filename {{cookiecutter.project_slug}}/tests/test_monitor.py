"""`mlops make-batch` and `mlops monitor` through the CLI, on a pipeline run in process.

The batch's data validation is replaced by a stand-in here, so these tests are
about drift and degradation only; the validation module has its own tests.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.commands import monitor
from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.stages import evaluate, ingest, split, train

from .conftest import TASKS, fixture_params, merge


@dataclass
class StandInValidation:
    success: bool = True
    failures: list[str] = field(default_factory=list)

    def to_dict(self):
        return {"success": self.success, "failures": self.failures}

    def to_markdown(self):
        return "\n".join(f"- {failure}" for failure in self.failures)


@pytest.fixture
def valid_batches(monkeypatch):
    monkeypatch.setattr(monitor, "validate_batch", lambda frame, params: StandInValidation())


def trained_project(root, monkeypatch, *layers) -> str:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    document = fixture_params()
    for layer in layers:
        document = merge(document, layer)
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    params = load_params(path)
    for stage in (ingest, split, train, evaluate):
        stage.run(params)
    return str(path)


@pytest.fixture(scope="module")
def classification(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        yield trained_project(tmp_path_factory.mktemp("monitor"), patch, TASKS["classification"])


def monitor_cli(params_file: str, batch, *options: str) -> tuple[int, dict]:
    code = main(["--params", params_file, "monitor", "--batch", str(batch), *options])
    report = json.loads(load_params(params_file).paths.drift.read_text(encoding="utf-8"))
    return code, report


def make_batch(params_file: str, output, *options: str) -> None:
    assert main(["--params", params_file, "make-batch", "--output", str(output), *options]) == 0


def test_a_clean_batch_exits_0(classification, valid_batches, tmp_path):
    make_batch(classification, tmp_path / "clean.parquet")
    code, report = monitor_cli(classification, tmp_path / "clean.parquet")
    assert code == 0
    assert report["status"] == "ok" and report["exit_code"] == 0
    assert report["drift"]["drifted_features"] == []
    assert report["performance"]["degraded"] is False
    summary = load_params(classification).paths.drift_summary.read_text(encoding="utf-8")
    assert "| feature | test | statistic | p-value |" in summary


def test_shifted_means_and_scales_are_drift_and_exit_1(classification, valid_batches, tmp_path):
    batch = tmp_path / "shifted.csv"
    make_batch(
        classification,
        batch,
        "--no-labels",
        "--shift-mean=mean_radius=1.5",
        "--shift-mean=mean_texture=1.5",
        "--shift-scale=worst_area=3",
    )
    code, report = monitor_cli(classification, batch)
    assert code == 1
    assert report["status"] == "drift"
    assert set(report["drift"]["drifted_features"]) == {
        "mean_radius",
        "mean_texture",
        "worst_area",
    }
    assert report["performance"] is None  # no labels, no metrics


def test_a_label_shift_is_degradation(classification, valid_batches, tmp_path):
    batch = tmp_path / "relabelled.parquet"
    make_batch(classification, batch, "--label-shift", "0.3")
    code, report = monitor_cli(classification, batch)
    assert code == 1
    assert report["status"] == "degradation"
    regressed = {
        c["metric"] for c in report["performance"]["comparisons"] if c["verdict"] == "regressed"
    }
    assert "accuracy" in regressed


def test_a_small_batch_one_row_off_is_noise_unless_the_gate_decides_by_the_point(
    classification, valid_batches, tmp_path
):
    batch = tmp_path / "small.parquet"
    make_batch(classification, batch, "--rows", "60", "--label-shift", "0.05", "--seed", "1")
    code, report = monitor_cli(classification, batch)
    accuracy = next(c for c in report["performance"]["comparisons"] if c["metric"] == "accuracy")
    # The premise: at the point the batch is worse than the test set beyond the tolerance.
    assert accuracy["batch"] < accuracy["baseline"] - 0.01
    low, high = accuracy["change_interval"]
    assert low < accuracy["batch"] - accuracy["baseline"] < high and high > -0.01
    assert (code, report["status"], accuracy["verdict"]) == (0, "ok", "within noise")
    assert report["performance"]["intervals"] and report["performance"]["test_rows"] > 60
    summary = load_params(classification).paths.drift_summary.read_text(encoding="utf-8")
    assert "change (95% interval)" in summary and "within noise" in summary

    # The same batch judged by `decide: point`: degraded, as before the intervals.
    document = yaml.safe_load(Path(classification).read_text(encoding="utf-8"))
    document["gates"]["accuracy"]["decide"] = "point"
    # Beside the project's params.yaml: its paths are read from the file's folder.
    by_point = Path(classification).with_name("params-point.yaml")
    by_point.write_text(yaml.safe_dump(document), encoding="utf-8")
    try:
        code, report = monitor_cli(str(by_point), batch)
    finally:
        by_point.unlink()
    accuracy = next(c for c in report["performance"]["comparisons"] if c["metric"] == "accuracy")
    assert (code, report["status"], accuracy["verdict"]) == (1, "degradation", "regressed")


def test_without_the_test_sets_outcomes_the_point_decides_and_says_so(
    classification, valid_batches, tmp_path, capsys
):
    batch = tmp_path / "small.parquet"
    make_batch(classification, batch, "--rows", "60", "--label-shift", "0.05", "--seed", "1")
    outcomes = load_params(classification).paths.outcomes
    kept = outcomes.read_bytes()
    outcomes.unlink()
    try:
        code, report = monitor_cli(classification, batch)
    finally:
        outcomes.write_bytes(kept)
    assert (code, report["status"]) == (1, "degradation")
    assert report["performance"]["intervals"] is False
    assert all(c["change_interval"] is None for c in report["performance"]["comparisons"])
    assert "each metric is judged by its value alone" in capsys.readouterr().out


def test_no_fail_exits_0_and_sets_github_outputs(
    classification, valid_batches, tmp_path, monkeypatch
):
    batch = tmp_path / "relabelled.parquet"
    make_batch(classification, batch, "--label-shift", "0.3")
    outputs = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    code, _ = monitor_cli(classification, batch, "--no-fail")
    assert code == 0
    assert outputs.read_text().splitlines() == [
        "status=degradation",
        "drift=false",
        "degraded=true",
    ]


def test_a_batch_that_fails_validation_exits_3_without_a_drift_check(
    classification, tmp_path, monkeypatch
):
    monkeypatch.setattr(
        monitor,
        "validate_batch",
        lambda frame, params: StandInValidation(False, ["mean_radius: values out of range"]),
    )
    make_batch(classification, tmp_path / "batch.parquet")
    code, report = monitor_cli(classification, tmp_path / "batch.parquet")
    assert code == 3
    assert report["status"] == "invalid" and report["drift"] is None
    assert report["validation"]["failures"] == ["mean_radius: values out of range"]
    summary = load_params(classification).paths.drift_summary.read_text(encoding="utf-8")
    assert "failed validation" in summary and "values out of range" in summary


def test_a_batch_refused_for_its_types_names_the_columns_on_the_console(
    classification, tmp_path, monkeypatch, capsys
):
    from types import SimpleNamespace

    failures = [
        SimpleNamespace(column="mean_radius", expectation="expect_column_values_to_be_of_type"),
        SimpleNamespace(column="mean_area", expectation="expect_column_values_to_be_of_type"),
    ]

    class Refused(StandInValidation):
        def to_dict(self):
            return {"success": False, "failures": [vars(failure) for failure in failures]}

    monkeypatch.setattr(monitor, "validate_batch", lambda frame, params: Refused(False, failures))
    make_batch(classification, tmp_path / "batch.parquet")
    code, _ = monitor_cli(classification, tmp_path / "batch.parquet")
    assert code == 3
    assert (
        "failed validation on mean_radius (column_values_to_be_of_type), "
        "mean_area (column_values_to_be_of_type); see reports/drift.md"
    ) in capsys.readouterr().out


def test_user_errors_exit_2(classification, valid_batches, tmp_path, capsys):
    assert main(["--params", classification, "monitor", "--batch", str(tmp_path / "no.csv")]) == 2
    assert "make a demo one with `mlops make-batch`" in capsys.readouterr().err
    options = ["--new-category", "mean_radius=huge", "--output", str(tmp_path / "b.csv")]
    assert main(["--params", classification, "make-batch", *options]) == 2
    assert "'mean_radius' is not a categorical feature" in capsys.readouterr().err


def test_a_new_category_in_own_data_is_flagged(mixed_csv, tmp_path, monkeypatch, valid_batches):
    params_file = trained_project(
        tmp_path,
        monkeypatch,
        TASKS["classification"],
        {"data": {"source": "data/input/customers.csv", "target": "churned"}},
    )
    batch = tmp_path / "batch.parquet"
    make_batch(params_file, batch, "--new-category", "region=mars", "--new-category-share", "0.4")
    code, report = monitor_cli(params_file, batch)
    assert code == 1
    region = next(f for f in report["drift"]["features"] if f["feature"] == "region")
    assert region["drifted"] and region["test"] == "chi-square"
    assert set(region["unseen_categories"]) == {"mars"}
    assert "plan" not in report["drift"]["drifted_features"]
