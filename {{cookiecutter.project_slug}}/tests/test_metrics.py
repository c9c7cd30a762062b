import math

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.core.metrics import (
    CLASSIFICATION_METRICS,
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


def test_multiclass_metrics_and_plots():
    truth = np.array(["a", "b", "c", "a", "b", "c"])
    probabilities = np.eye(3)[[0, 1, 2, 0, 1, 1]] * 0.8 + 0.2 / 3
    predicted = np.array(["a", "b", "c", "a", "b", "b"])
    scores = classification_metrics(truth, predicted, probabilities, ["a", "b", "c"])
    assert scores["accuracy"] == pytest.approx(5 / 6, abs=1e-6)
    plots = classification_plots(truth, predicted, probabilities, ["a", "b", "c"])
    assert plots["confusion.json"][5] == {"actual": "c", "predicted": "b"}
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
