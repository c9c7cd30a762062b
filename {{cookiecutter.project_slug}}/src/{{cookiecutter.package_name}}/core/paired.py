"""Tell noise from a regression: metrics on resampled rows, and paired differences.

A point metric on a test set of a hundred rows moves by a whole point when one row
flips, so "0.0068 worse" says nothing by itself. Here every metric is computed from
per-row outcomes with row weights, so one draw of bootstrap weights scores both
models on the *same* resampled rows: the interval of the difference then reflects
only the rows on which the two models disagree (a paired bootstrap), which is far
narrower than the two models' own intervals side by side.

The weights of a whole batch of resamples form a matrix, and every metric is a few
matrix-vector products on it (ROC AUC a cumulative sum over rows sorted once), so
100,000 rows and 1,000 resamples take seconds, not the minutes of a Python loop.
The numbers agree with `core.metrics` (scikit-learn) when every weight is one.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS

RESAMPLES = 1000
CONFIDENCE = 0.95
SEED = 20261203
# Weights held in memory at once (resamples x rows): 4M float64 = 32 MB per array.
CHUNK_CELLS = 4_000_000

IMPROVED = "improved"
WITHIN_NOISE = "within noise"
REGRESSED = "regressed"
WORSE_UNGATED = "worse (not gated)"
DECISIONS = ("interval", "point")


@dataclass(frozen=True)
class Predictions:
    """One model's outputs on the test rows, in the rows' order.

    `probabilities` has one column per class of `classes` (classification only).
    """

    predicted: np.ndarray
    probabilities: np.ndarray | None = None


@dataclass(frozen=True)
class Rows:
    """What every metric needs of the labelled rows themselves."""

    task: str
    truth: np.ndarray
    classes: tuple = ()
    # Index into `classes` of the positive class of a binary target; -1 for macro averages.
    positive: int = -1

    def __post_init__(self) -> None:
        if self.task not in ("classification", "regression"):
            raise ValueError(f"task must be classification or regression, not {self.task!r}")
        if self.task == "classification" and len(self.classes) < 2:
            raise ValueError("a classification needs the model's classes (two or more)")


@dataclass(frozen=True)
class Interval:
    """A metric (or a difference of metrics) on all rows, and its bootstrap interval."""

    point: float
    low: float
    high: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class Difference:
    """candidate - baseline for one metric, judged on the same rows."""

    name: str
    baseline: float
    candidate: float
    delta: Interval


def metric_names(task: str) -> tuple[str, ...]:
    return CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (scikit-learn's zero_division=0)."""
    out = np.zeros(np.broadcast(numerator, denominator).shape)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


class _RankedScores:
    """One class's scores sorted once, so a weighted ROC AUC is one cumulative sum.

    A positive row beats the negatives sorted before it; rows with tied scores count
    half of each other's negatives, as scikit-learn counts ties, through a correction
    over the tied positive rows only (none for continuous scores).
    """

    def __init__(self, scores: np.ndarray, positive: np.ndarray):
        self.order = np.argsort(scores, kind="stable")
        ranked = scores[self.order]
        self.positive = positive[self.order].astype(np.float32)
        starts = np.r_[True, ranked[1:] != ranked[:-1]]
        group = np.cumsum(starts) - 1
        first, last = np.flatnonzero(starts), np.r_[np.flatnonzero(starts)[1:] - 1, len(ranked) - 1]
        tied = (last - first)[group] > 0
        self.tied = np.flatnonzero(tied & (self.positive > 0))
        self.tied_first, self.tied_last = first[group[self.tied]], last[group[self.tied]]

    def auc(self, weights: np.ndarray) -> np.ndarray:
        """P(score of a positive > score of a negative) + half the ties, per weight row."""
        w = np.take(weights, self.order, axis=1)
        positive_w = w * self.positive
        negative_cum = np.cumsum(w - positive_w, axis=1)
        # Weights are whole numbers, so these float32 products are exact; sums in float64.
        wins = (positive_w * negative_cum).sum(axis=1, dtype=np.float64)
        if len(self.tied):
            padded = np.concatenate([np.zeros((len(w), 1), np.float32), negative_cum], axis=1)
            below = padded[:, self.tied_first].astype(np.float64)
            fair = 0.5 * (below + padded[:, self.tied_last + 1])
            wins += (positive_w[:, self.tied] * (fair - padded[:, self.tied + 1])).sum(axis=1)
        pairs = positive_w.sum(axis=1, dtype=np.float64) * negative_cum[:, -1]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(pairs > 0, wins / np.where(pairs > 0, pairs, 1), np.nan)


class _Scorer:
    """Every metric of one model on the rows, for any matrix of row weights."""

    def __init__(self, rows: Rows, predictions: Predictions):
        self.task = rows.task
        truth, predicted = np.asarray(rows.truth), np.asarray(predictions.predicted)
        if len(truth) != len(predicted):
            raise ValueError(
                f"{len(predicted)} predictions for {len(truth)} rows: score both models "
                "on the same rows"
            )
        if rows.task == "regression":
            self.center = float(np.mean(truth)) if len(truth) else 0.0
            self.truth = truth.astype(float) - self.center
            error = truth.astype(float) - predicted.astype(float)
            self.squared, self.absolute = error**2, np.abs(error)
            return
        # Counts of whole-number weights: exact in float32, at half float64's memory traffic.
        self.correct = (truth == predicted).astype(np.float32)
        classes = list(rows.classes)
        if rows.positive >= 0:
            judged = [classes[rows.positive]]
        else:
            # scikit-learn's macro averages run over the labels that occur.
            present = set(truth.tolist()) | set(predicted.tolist())
            judged = [label for label in classes if label in present]
        self.truth_is = [(truth == label).astype(np.float32) for label in judged]
        self.predicted_is = [(predicted == label).astype(np.float32) for label in judged]
        self.hits = [t * p for t, p in zip(self.truth_is, self.predicted_is, strict=True)]
        if predictions.probabilities is None:
            raise ValueError("classification outcomes need the class probabilities")
        probabilities = np.asarray(predictions.probabilities, dtype=float)
        if rows.positive >= 0:
            self.ranked = [_RankedScores(probabilities[:, rows.positive], self.truth_is[0] > 0)]
        else:
            self.ranked = [
                _RankedScores(probabilities[:, index], truth == label)
                for index, label in enumerate(classes)
            ]

    def scores(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        total = weights.sum(axis=1, dtype=np.float64)
        if self.task == "regression":
            weights = weights.astype(np.float64)
            squared = weights @ self.squared
            spread = weights @ self.truth**2 - _safe_ratio((weights @ self.truth) ** 2, total)
            return {
                "rmse": np.sqrt(_safe_ratio(squared, total)),
                "mae": _safe_ratio(weights @ self.absolute, total),
                "r2": 1.0 - _safe_ratio(squared, spread),
            }
        hits = np.stack([weights @ h for h in self.hits]).astype(np.float64)
        actual = np.stack([weights @ t for t in self.truth_is]).astype(np.float64)
        called = np.stack([weights @ p for p in self.predicted_is]).astype(np.float64)
        with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
            # A resample without one class has no AUC for it: the others average.
            auc = np.nanmean(np.stack([r.auc(weights) for r in self.ranked]), axis=0)
        return {
            "accuracy": _safe_ratio((weights @ self.correct).astype(np.float64), total),
            "precision": _safe_ratio(hits, called).mean(axis=0),
            "recall": _safe_ratio(hits, actual).mean(axis=0),
            "f1": _safe_ratio(2 * hits, called + actual).mean(axis=0),
            "roc_auc": auc,
        }


def _poisson_table(levels: int = 1 << 16) -> np.ndarray:
    """Poisson(1) quantiles at `levels` evenly spaced probabilities: a uniform 16-bit
    draw looked up here is a Poisson(1) draw (to 1/65536 in each probability)."""
    counts = np.arange(20)
    cdf = np.cumsum(np.exp(-1.0) / np.cumprod(np.r_[1.0, counts[1:].astype(float)]))
    quantiles = np.searchsorted(cdf, (np.arange(levels) + 0.5) / levels)
    return quantiles.astype(np.float32)


_POISSON = _poisson_table()


def _weight_batches(rows: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Bootstrap weights (how often each row is drawn), a batch of resamples at a time.

    Poisson(1) weights per row (the Poisson bootstrap) rather than one multinomial
    draw of `rows` rows: the two agree for all but tiny test sets, and independent
    weights come from a table look-up, several times faster than drawing and
    counting row indices. Every metric divides by the total weight.
    """
    rng = np.random.default_rng(seed)
    batch = max(1, CHUNK_CELLS // max(rows, 1))
    for start in range(0, resamples, batch):
        size = min(batch, resamples - start)
        yield np.take(_POISSON, rng.integers(0, len(_POISSON), size=(size, rows), dtype=np.uint16))


def _interval(point: float, samples: np.ndarray, confidence: float) -> Interval:
    finite = samples[np.isfinite(samples)]
    if not len(finite):
        return Interval(point, float("nan"), float("nan"))
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return Interval(point, float(low), float(high))


def _all_rows(count: int) -> np.ndarray:
    return np.ones((1, count), np.float32)


def _resampled(statistic, rows: int, resamples: int, seed: int) -> dict[str, np.ndarray]:
    """`statistic(weights)` (metric -> one value per resample) over every batch of weights."""
    batches = [statistic(weights) for weights in _weight_batches(rows, resamples, seed)]
    return {name: np.concatenate([batch[name] for batch in batches]) for name in batches[0]}


def intervals(
    rows: Rows,
    predictions: Predictions,
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
) -> dict[str, Interval]:
    """One model's metrics with their bootstrap intervals (no baseline to pair with)."""
    scorer = _Scorer(rows, predictions)
    points = {name: float(v[0]) for name, v in scorer.scores(_all_rows(len(rows.truth))).items()}
    samples = _resampled(scorer.scores, len(rows.truth), resamples, seed)
    return {
        name: _interval(points[name], samples[name], confidence) for name in metric_names(rows.task)
    }


def paired(
    rows: Rows,
    baseline: Predictions,
    candidate: Predictions,
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
) -> dict[str, Difference]:
    """candidate - baseline for every metric, with a paired bootstrap interval.

    Seeded: the same rows, predictions and seed give the same intervals.
    """
    scorers = _Scorer(rows, baseline), _Scorer(rows, candidate)
    everything = _all_rows(len(rows.truth))
    base_point, cand_point = (s.scores(everything) for s in scorers)

    def change(weights: np.ndarray) -> dict[str, np.ndarray]:
        base, cand = (s.scores(weights) for s in scorers)
        return {name: cand[name] - base[name] for name in base}

    deltas = _resampled(change, len(rows.truth), resamples, seed)
    return _differences(rows.task, base_point, cand_point, deltas, confidence)


def _differences(
    task: str,
    base_point: dict[str, np.ndarray],
    cand_point: dict[str, np.ndarray],
    deltas: dict[str, np.ndarray],
    confidence: float,
) -> dict[str, Difference]:
    """Each metric's change on all rows, with the interval of its resampled changes."""
    result = {}
    for name in metric_names(task):
        b, c = float(base_point[name][0]), float(cand_point[name][0])
        result[name] = Difference(name, b, c, _interval(c - b, deltas[name], confidence))
    return result


def unpaired(
    baseline_rows: Rows,
    baseline: Predictions,
    rows: Rows,
    candidate: Predictions,
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
) -> dict[str, Difference]:
    """candidate - baseline for every metric scored on *different* rows (the model on a
    monitoring batch against the same model on its test set), with a two-sample bootstrap
    interval: each side is resampled on its own and the interval is read from the
    differences of the two sides' resamples, so both sets' sizes widen it.

    Seeded: the same rows, predictions and seed give the same intervals.
    """
    base, cand = _Scorer(baseline_rows, baseline), _Scorer(rows, candidate)
    base_rows, cand_rows = len(baseline_rows.truth), len(rows.truth)
    base_point, cand_point = base.scores(_all_rows(base_rows)), cand.scores(_all_rows(cand_rows))
    # Independent draws for the two sides: another seed for the candidate's rows.
    base_samples = _resampled(base.scores, base_rows, resamples, seed)
    cand_samples = _resampled(cand.scores, cand_rows, resamples, seed + 1)
    deltas = {name: cand_samples[name] - base_samples[name] for name in cand_samples}
    return _differences(rows.task, base_point, cand_point, deltas, confidence)


def verdict(
    difference: Difference,
    *,
    direction: str,
    allowed_drop: float,
    gate: bool = True,
    decide: str = "interval",
) -> str:
    """improved, within noise, or regressed (worse (not gated) for an ungated metric).

    `interval` (the default) calls a regression only when the whole interval of the
    change lies below -allowed_drop: the rows give evidence of a drop beyond the
    tolerance, not a drop that two unlucky rows could produce. `point` judges the
    change on all rows against the tolerance, as a plain threshold gate does.
    "improved" always needs the whole interval above zero.
    """
    if decide not in DECISIONS:
        raise ValueError(f"decide must be one of {', '.join(DECISIONS)}, not {decide!r}")
    sign = 1.0 if direction == "higher" else -1.0
    low, high = sorted((sign * difference.delta.low, sign * difference.delta.high))
    point = sign * difference.delta.point
    worse = (point < -allowed_drop - 1e-12) if decide == "point" else (high < -allowed_drop - 1e-12)
    if worse:
        return REGRESSED if gate else WORSE_UNGATED
    if low > 0:
        return IMPROVED
    return WITHIN_NOISE


@dataclass(frozen=True)
class Slice:
    """The rows of one value (or one bin) of a column, and the model's metrics on them."""

    column: str
    value: str
    rows: int
    metrics: dict[str, Interval]


MISSING_VALUE = "(missing)"


def slice_labels(values, bins: int) -> np.ndarray:
    """A label per row: the value itself for text, a quantile bin `[low, high]` for numbers."""
    import pandas as pd

    series = pd.Series(values)
    if pd.api.types.is_numeric_dtype(series) and series.nunique() > bins:
        binned = pd.qcut(series, q=bins, duplicates="drop")
        names = {b: f"[{b.left:.4g}, {b.right:.4g}]" for b in binned.cat.categories}
        labels = binned.astype(object).map(names)
    else:
        labels = series.astype(object).map(str)
    return labels.where(series.notna(), MISSING_VALUE).to_numpy(dtype=object)


def slices(
    rows: Rows,
    predictions: Predictions,
    columns: dict[str, object],
    *,
    bins: int = 4,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
) -> list[Slice]:
    """Every metric on each slice of each column (`columns`: name -> that column's values
    on the same rows), with the slice's own bootstrap interval."""
    truth = np.asarray(rows.truth)
    found = []
    for column, values in columns.items():
        labels = slice_labels(values, bins)
        if len(labels) != len(truth):
            raise ValueError(
                f"slice column {column!r} has {len(labels)} values for {len(truth)} rows"
            )
        for value in sorted(set(labels)):
            mask = labels == value
            part = Rows(rows.task, truth[mask], rows.classes, rows.positive)
            probabilities = predictions.probabilities
            chosen = Predictions(
                np.asarray(predictions.predicted)[mask],
                None if probabilities is None else np.asarray(probabilities)[mask],
            )
            metrics = intervals(part, chosen, resamples=resamples, seed=seed, confidence=confidence)
            found.append(Slice(column, value, int(mask.sum()), metrics))
    return found


def worst_first(found: list[Slice], metric: str, direction: str) -> list[Slice]:
    """Slices ordered from the worst value of `metric` to the best (undefined last)."""
    sign = 1.0 if direction == "higher" else -1.0

    def key(item: Slice) -> tuple[bool, float]:
        value = item.metrics[metric].point
        return (not np.isfinite(value), sign * value if np.isfinite(value) else 0.0)

    return sorted(found, key=key)
