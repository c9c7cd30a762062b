"""Per-row outcomes: what every metric needs of each test row (its label, the model's
prediction and class scores), kept by `evaluate` so two models can be compared row by
row (core.paired) and the rows sliced by a column.

A row's key is a hash of its feature values, not its position: main's outcomes and a
branch's pair only when both scored the same rows in the same order, whatever their
code or split settings say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .metrics import Assessment, positive_index
from .paired import Predictions, Rows

KEY = "row"
LABEL = "label"
PREDICTED = "predicted"
SCORE = "score_"  # score_0, score_1, ...: the probability of each class, in `classes` order


@dataclass(frozen=True)
class Outcomes:
    """One model's outcomes on the test rows: the rows' keys, the rows, its predictions."""

    keys: np.ndarray
    rows: Rows
    predictions: Predictions


def row_keys(features: pd.DataFrame) -> np.ndarray:
    """A 16-hex-digit key per row from its feature values (columns in name order)."""
    ordered = features[sorted(features.columns)]
    hashed = pd.util.hash_pandas_object(ordered, index=False).to_numpy()
    return np.array([f"{value:016x}" for value in hashed], dtype=object)


def from_assessment(
    keys: np.ndarray, truth, assessment: Assessment, task: str, positive_class: Any = None
) -> Outcomes:
    """The outcomes of a scored model (`core.metrics.score`) on its labelled rows."""
    if assessment.predicted is None:
        raise ValueError("the assessment holds no predictions")
    classes = assessment.classes
    positive = positive_index(classes, positive_class) if task == "classification" else -1
    rows = Rows(task, np.asarray(truth), tuple(classes), positive)
    return Outcomes(
        np.asarray(keys, dtype=object),
        rows,
        Predictions(np.asarray(assessment.predicted), assessment.probabilities),
    )


def to_frame(outcomes: Outcomes) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A table of one row per test row, and what reads it back (task, classes, positive)."""
    columns: dict[str, Any] = {
        KEY: outcomes.keys,
        LABEL: outcomes.rows.truth,
        PREDICTED: outcomes.predictions.predicted,
    }
    probabilities = outcomes.predictions.probabilities
    if probabilities is not None:
        for index in range(probabilities.shape[1]):
            columns[f"{SCORE}{index}"] = probabilities[:, index]
    about = {
        "task": outcomes.rows.task,
        "classes": list(outcomes.rows.classes),
        "positive": outcomes.rows.positive,
    }
    return pd.DataFrame(columns), about


def from_frame(frame: pd.DataFrame, about: dict[str, Any]) -> Outcomes:
    """`to_frame` read back."""
    classes = tuple(about.get("classes") or ())
    scores = [f"{SCORE}{index}" for index in range(len(classes))]
    missing = [name for name in (KEY, LABEL, PREDICTED, *scores) if name not in frame.columns]
    if missing:
        raise ValueError(f"the outcomes have no column {', '.join(missing)}")
    rows = Rows(about["task"], frame[LABEL].to_numpy(), classes, int(about.get("positive", -1)))
    probabilities = frame[scores].to_numpy(dtype=float) if scores else None
    return Outcomes(
        frame[KEY].to_numpy(dtype=object),
        rows,
        Predictions(frame[PREDICTED].to_numpy(), probabilities),
    )


def unpaired_reason(baseline: Outcomes, candidate: Outcomes) -> str | None:
    """Why two models' outcomes cannot be paired row by row, or None when they can."""
    if baseline.rows.task != candidate.rows.task:
        return "the two models are of different tasks"
    if len(baseline.keys) != len(candidate.keys) or not np.array_equal(
        baseline.keys, candidate.keys
    ):
        return "they were scored on other rows (the row keys differ)"
    if not np.array_equal(np.asarray(baseline.rows.truth), np.asarray(candidate.rows.truth)):
        return "the rows' labels differ"
    if baseline.rows.classes != candidate.rows.classes:
        return "the models know other classes"
    if baseline.rows.positive != candidate.rows.positive:
        return "they score another class as positive"
    return None
