import json
import math

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.core.metrics import (
    CLASSIFICATION_METRICS,
    MAX_POINTS,
    REGRESSION_METRICS,
    classification_metrics,
    classification_plots,
    regression_metrics,
    regression_plots,
)


def test_binary_metrics_match_hand_computed_values():
    truth = np.array([0, 0, 1, 1, 1])
    predicted = np.array([0, 1, 1, 1, 0])
    probabilities = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    scores = classification_metrics(truth, predicted, probabilities, [0, 1])
    assert tuple(scores) == CLASSIFICATION_METRICS
    assert scores["accuracy"] == pytest.approx(0.6)
    assert scores["precision"] == pytest.approx(2 / 3, abs=1e-6)
    assert scores["recall"] == pytest.approx(2 / 3, abs=1e-6)
    assert scores["roc_auc"] == pytest.approx(5 / 6, abs=1e-6)


def test_the_positive_class_is_a_setting_and_defaults_to_the_label_that_sorts_last():
    truth = np.array(["no", "no", "yes", "yes", "yes"])
    predicted = np.array(["no", "yes", "yes", "yes", "no"])
    probabilities = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    classes = ["no", "yes"]
    default = classification_metrics(truth, predicted, probabilities, classes)
    assert default == classification_metrics(truth, predicted, probabilities, classes, "yes")
    assert default["precision"] == pytest.approx(2 / 3, abs=1e-6)
    scored_no = classification_metrics(truth, predicted, probabilities, classes, "no")
    # "no" as positive: 1 of the 2 rows predicted "no" is a "no"; 1 of the 2 "no" rows found.
    assert scored_no["precision"] == pytest.approx(1 / 2) and scored_no["recall"] == 0.5
    assert scored_no["roc_auc"] == pytest.approx(default["roc_auc"])
    assert scored_no["accuracy"] == default["accuracy"]
    roc = classification_plots(truth, predicted, probabilities, classes, "no")["roc.json"]
    assert roc != classification_plots(truth, predicted, probabilities, classes)["roc.json"]
    # Boolean labels take a boolean setting; 0/1 read as text still match an integer one.
    assert (
        classification_metrics(
            truth == "yes", predicted == "yes", probabilities, [False, True], True
        )
        == default
    )


def test_text_labels_match_a_number_setting():
    from {{ cookiecutter.package_name }}.core.metrics import positive_index

    assert positive_index(np.array(["0", "1"]), 0) == 0
    assert positive_index([0, 1], None) == 1


@pytest.mark.parametrize(
    ("classes", "positive", "expected"),
    [
        (
            ["no", "yes"],
            True,
            "is True, which is not a label of the target; use one of 'no', "
            "'yes' (quote text labels",
        ),
        ([0, 1], 2, "is 2, which is not a label of the target; use one of 0, 1"),
        (["a", "b", "c"], "a", "the target has 3 classes, whose metrics are macro averages"),
    ],
)
def test_a_positive_class_the_target_cannot_use_is_named(classes, positive, expected):
    from {{ cookiecutter.package_name }}.core.metrics import positive_index
    from {{ cookiecutter.package_name }}.errors import DataError

    with pytest.raises(DataError) as caught:
        positive_index(classes, positive)
    assert expected in str(caught.value)


def test_multiclass_metrics_and_plots():
    truth = np.array(["a", "b", "c", "a", "b", "c"])
    probabilities = np.eye(3)[[0, 1, 2, 0, 1, 1]] * 0.8 + 0.2 / 3
    predicted = np.array(["a", "b", "c", "a", "b", "b"])
    scores = classification_metrics(truth, predicted, probabilities, ["a", "b", "c"])
    assert scores["accuracy"] == pytest.approx(5 / 6, abs=1e-6)
    plots = classification_plots(truth, predicted, probabilities, ["a", "b", "c"])
    assert {"actual": "c", "predicted": "b", "count": 1} in plots["confusion.json"]
    assert {"actual": "a", "predicted": "a", "count": 2} in plots["confusion.json"]
    assert sum(record["count"] for record in plots["confusion.json"]) == len(truth)
    assert plots["roc.json"][0]["fpr"] == 0.0 and plots["roc.json"][-1]["tpr"] == 1.0


def test_regression_metrics_match_hand_computed_values():
    scores = regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0]))
    assert tuple(scores) == REGRESSION_METRICS
    assert scores["rmse"] == pytest.approx(math.sqrt(4 / 3), abs=1e-6)
    assert scores["mae"] == pytest.approx(2 / 3, abs=1e-6)
    assert scores["r2"] == pytest.approx(1 - 4 / 2, abs=1e-6)


def test_regression_plots_pair_actual_and_predicted():
    plots = regression_plots([3.0, 1.0], [2.5, 1.5])
    assert plots["predictions.json"] == [
        {"actual": 3.0, "predicted": 2.5},
        {"actual": 1.0, "predicted": 1.5},
    ]
    assert plots["residuals.json"][1] == {"predicted": 1.5, "residual": -0.5}


def test_the_roc_chart_says_how_it_averages_more_than_two_classes():
    """The multiclass curve is micro-averaged, roc_auc is the macro average: the chart
    that `dvc plots show` draws must not let one pass for the other."""
    import yaml

    from .conftest import PROJECT_ROOT

    plots = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text(encoding="utf-8"))["plots"]
    charts = {name: spec for plot in plots for name, spec in plot.items()}
    if "roc_curve" in charts:  # classification projects
        title = charts["roc_curve"]["title"]
        assert "micro-average" in title and "roc_auc" in title and "macro" in title


def test_plot_files_stay_small_at_a_million_rows():
    rows = 1_000_000
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, rows)
    score = np.clip(truth * 0.4 + rng.random(rows) * 0.6, 0, 1)
    probabilities = np.column_stack([1 - score, score])
    plots = classification_plots(truth, (score > 0.5).astype(int), probabilities, [0, 1])
    plots |= regression_plots(truth + rng.normal(0, 1, rows), score)
    for name, records in plots.items():
        size = len(json.dumps(records))
        assert size < 100_000, f"{name} is {size:,} bytes at {rows:,} rows"
    assert len(plots["confusion.json"]) == 4
    assert sum(record["count"] for record in plots["confusion.json"]) == rows
    roc = plots["roc.json"]
    assert len(roc) <= MAX_POINTS and roc[0] == {"fpr": 0.0, "tpr": 0.0} and roc[-1]["tpr"] == 1.0
    actual = [record["actual"] for record in plots["predictions.json"]]
    assert len(actual) == MAX_POINTS
    # Thinned over the sorted actual values: the extremes of the range are kept.
    assert min(actual) < -3 and max(actual) > 4
