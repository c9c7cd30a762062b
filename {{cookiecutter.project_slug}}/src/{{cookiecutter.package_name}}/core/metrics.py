"""Test-set metrics and the plot data DVC renders, for both tasks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
REGRESSION_METRICS = ("rmse", "mae", "r2")
DIGITS = 6


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {name: round(float(value), DIGITS) for name, value in values.items()}


def classification_metrics(y_true, y_pred, probabilities: np.ndarray, classes) -> dict[str, float]:
    """Binary data scores the second class as positive; more classes use macro averages."""
    binary = len(classes) == 2
    averaging = {"average": "binary", "pos_label": classes[1]} if binary else {"average": "macro"}
    if binary:
        roc_auc = skm.roc_auc_score(y_true, probabilities[:, 1])
    else:
        roc_auc = skm.roc_auc_score(
            y_true, probabilities, multi_class="ovr", average="macro", labels=classes
        )
    return _rounded(
        {
            "accuracy": skm.accuracy_score(y_true, y_pred),
            "precision": skm.precision_score(y_true, y_pred, zero_division=0, **averaging),
            "recall": skm.recall_score(y_true, y_pred, zero_division=0, **averaging),
            "f1": skm.f1_score(y_true, y_pred, zero_division=0, **averaging),
            "roc_auc": roc_auc,
        }
    )


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    return _rounded(
        {
            "rmse": skm.root_mean_squared_error(y_true, y_pred),
            "mae": skm.mean_absolute_error(y_true, y_pred),
            "r2": skm.r2_score(y_true, y_pred),
        }
    )


def _label(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def classification_plots(y_true, y_pred, probabilities, classes) -> dict[str, list[dict]]:
    """Per-row records for DVC's confusion template; a ROC curve (micro-averaged if multiclass)."""
    confusion = [
        {"actual": str(_label(a)), "predicted": str(_label(p))}
        for a, p in zip(y_true, y_pred, strict=True)
    ]
    if len(classes) == 2:
        fpr, tpr, _ = skm.roc_curve(y_true, probabilities[:, 1], pos_label=classes[1])
    else:
        truth = label_binarize(y_true, classes=classes)
        fpr, tpr, _ = skm.roc_curve(truth.ravel(), probabilities.ravel())
    roc = [
        {"fpr": round(float(f), DIGITS), "tpr": round(float(t), DIGITS)}
        for f, t in zip(fpr, tpr, strict=True)
    ]
    return {"confusion.json": confusion, "roc.json": roc}


def regression_plots(y_true, y_pred) -> dict[str, list[dict]]:
    pairs = [
        (round(float(a), DIGITS), round(float(p), DIGITS))
        for a, p in zip(y_true, y_pred, strict=True)
    ]
    return {
        "predictions.json": [{"actual": a, "predicted": p} for a, p in pairs],
        "residuals.json": [{"predicted": p, "residual": round(a - p, DIGITS)} for a, p in pairs],
    }


@dataclass(frozen=True)
class Assessment:
    """A fitted model's metrics on labelled rows, and the plot data when asked for."""

    scores: dict[str, float]
    plots: dict[str, list[dict]]


def score(model, inputs, target, task: str, *, plots: bool = False) -> Assessment:
    """Score a fitted scikit-learn model on labelled rows, the same way for every caller.

    `evaluate` (the test set, with plots) and `monitor` (a labelled batch) both come here.
    """
    target = np.asarray(target)
    predictions = model.predict(inputs)
    if task == "classification":
        classes = list(model.classes_)
        probabilities = model.predict_proba(inputs)
        return Assessment(
            classification_metrics(target, predictions, probabilities, classes),
            classification_plots(target, predictions, probabilities, classes) if plots else {},
        )
    return Assessment(
        regression_metrics(target, predictions),
        regression_plots(target, predictions) if plots else {},
    )
