"""Test-set metrics and the plot data DVC renders, for both tasks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

from ..errors import DataError

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
REGRESSION_METRICS = ("rmse", "mae", "r2")
DIGITS = 6


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {name: round(float(value), DIGITS) for name, value in values.items()}


def positive_index(classes, positive: Any = None) -> int:
    """Which of two classes is scored as positive: `positive` (data.positive_class), or
    the one that sorts last when it is None (the model's classes are sorted)."""
    if len(classes) != 2:
        if positive is not None:
            raise DataError(
                f"params.yaml `data.positive_class` is {positive!r} but the target has "
                f"{len(classes)} classes, whose metrics are macro averages; set it to null"
            )
        return -1
    if positive is None:
        return 1
    labels = [_label(label) for label in classes]
    for matches in (
        lambda label: type(label) is type(positive) and label == positive,
        lambda label: str(label) == str(positive),
    ):
        found = [index for index, label in enumerate(labels) if matches(label)]
        if len(found) == 1:
            return found[0]
    quote = (
        " (quote text labels: YAML reads yes/no as true/false)"
        if isinstance(positive, bool)
        else ""
    )
    raise DataError(
        f"params.yaml `data.positive_class` is {positive!r}, which is not a label of the "
        f"target; use one of {', '.join(repr(label) for label in labels)}{quote}"
    )


def classification_metrics(
    y_true, y_pred, probabilities: np.ndarray, classes, positive: Any = None
) -> dict[str, float]:
    """Two classes score one as positive (see positive_index); more use macro averages."""
    binary = len(classes) == 2
    index = positive_index(classes, positive)
    averaging = (
        {"average": "binary", "pos_label": classes[index]} if binary else {"average": "macro"}
    )
    if binary:
        truth = np.asarray(y_true) == classes[index]
        roc_auc = skm.roc_auc_score(truth, probabilities[:, index])
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


# A curve or a scatter in a plot file keeps at most this many points, whatever the
# number of test rows: the files are committed to git and rendered by DVC.
MAX_POINTS = 1000


def thinned(count: int, limit: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most `limit` of `count` points, evenly spread, first and last kept."""
    if count <= limit:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, limit).round().astype(int))


def confusion_counts(y_true, y_pred) -> list[dict]:
    """One record per (actual, predicted) pair that occurs, with its number of rows.

    Counts, not one record per row, so the file stays small at any size; DVC draws
    it with the project's `confusion_counts` template (.dvc/plots/), which sums `count`.
    """
    actual, predicted = np.asarray(y_true), np.asarray(y_pred)
    labels, codes = np.unique(np.concatenate([actual, predicted]), return_inverse=True)
    width = len(labels)
    counts = np.bincount(codes[: len(actual)] * width + codes[len(actual) :], minlength=width**2)
    return [
        {
            "actual": str(_label(labels[cell // width])),
            "predicted": str(_label(labels[cell % width])),
            "count": int(counts[cell]),
        }
        for cell in np.flatnonzero(counts).tolist()
    ]


def classification_plots(
    y_true, y_pred, probabilities, classes, positive: Any = None
) -> dict[str, list[dict]]:
    """Confusion counts; a ROC curve of at most MAX_POINTS points. Two classes: of the
    positive class. More: micro-averaged (every class's one-vs-rest rows pooled), while
    `roc_auc` in metrics.json is the macro average of the per-class AUCs."""
    if len(classes) == 2:
        index = positive_index(classes, positive)
        fpr, tpr, _ = skm.roc_curve(y_true, probabilities[:, index], pos_label=classes[index])
    else:
        truth = label_binarize(y_true, classes=classes)
        fpr, tpr, _ = skm.roc_curve(truth.ravel(), probabilities.ravel())
    kept = thinned(len(fpr))
    roc = [
        {"fpr": round(float(f), DIGITS), "tpr": round(float(t), DIGITS)}
        for f, t in zip(fpr[kept], tpr[kept], strict=True)
    ]
    return {"confusion.json": confusion_counts(y_true, y_pred), "roc.json": roc}


def regression_plots(y_true, y_pred) -> dict[str, list[dict]]:
    """Predicted vs actual and residuals for at most MAX_POINTS rows, spread over the
    rows sorted by the actual value so the whole range stays in the picture."""
    actual, predicted = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    order = np.argsort(actual, kind="stable")
    kept = np.sort(order[thinned(len(order))])
    pairs = [
        (round(float(a), DIGITS), round(float(p), DIGITS))
        for a, p in zip(actual[kept], predicted[kept], strict=True)
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
    # What the scores were computed from, row by row (see core.outcomes).
    predicted: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    classes: tuple = ()


def score(
    model, inputs, target, task: str, *, plots: bool = False, positive_class: Any = None
) -> Assessment:
    """Score a fitted scikit-learn model on labelled rows, the same way for every caller.

    `evaluate` (the test set, with plots) and `monitor` (a labelled batch) both come here.
    `positive_class` is data.positive_class (None: the label that sorts last).
    """
    target = np.asarray(target)
    predictions = model.predict(inputs)
    if task == "classification":
        classes = list(model.classes_)
        probabilities = model.predict_proba(inputs)
        positive = positive_class
        return Assessment(
            classification_metrics(target, predictions, probabilities, classes, positive),
            classification_plots(target, predictions, probabilities, classes, positive)
            if plots
            else {},
            predictions,
            np.asarray(probabilities),
            tuple(_label(label) for label in classes),
        )
    return Assessment(
        regression_metrics(target, predictions),
        regression_plots(target, predictions) if plots else {},
        predictions,
    )
