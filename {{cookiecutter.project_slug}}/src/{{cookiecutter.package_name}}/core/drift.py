"""Per-feature drift statistics between a reference sample and a batch: no I/O here.

A feature drifts only when two things hold: its test rejects "same distribution"
after the correction for testing many features (the p-value), AND the shift is
large enough to matter (the population stability index, PSI). With a large batch
every tiny shift is significant; the PSI keeps those from raising alarms.

- numeric: two-sample Kolmogorov-Smirnov on the non-missing values; PSI over
  bins cut at the reference's quantiles.
- categorical: chi-square test of the reference and batch counts (missing is a
  category of its own); PSI over the categories. Categories the reference never
  saw are counted and reported.

The reference is profiled once (sorted values, quantile edges, bin shares), so
checking a batch sorts each batch column once and reuses that for both the KS
statistic and the PSI.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataError
from ..params import MonitoringParams
from .features import Features

# Shares of zero would make the PSI infinite: a bin or category that one side
# lacks counts as this share instead.
PSI_FLOOR = 1e-4
# Up to this many values per side, scipy's exact KS p-value is affordable.
KS_EXACT_MAX = 10_000
MISSING = "(missing)"


@dataclass(frozen=True)
class NumericReference:
    sorted_values: np.ndarray
    edges: np.ndarray
    shares: np.ndarray


@dataclass(frozen=True)
class CategoricalReference:
    counts: dict[str, int]


@dataclass(frozen=True)
class ReferenceProfile:
    numeric: dict[str, NumericReference]
    categorical: dict[str, CategoricalReference]
    rows: int

    @classmethod
    def build(cls, frame: pd.DataFrame, features: Features, bins: int) -> ReferenceProfile:
        numeric = {}
        columns = numeric_columns(frame, features.numeric)
        for column, values in zip(features.numeric, columns, strict=True):
            values = np.sort(values[~np.isnan(values)])
            if values.size == 0:
                raise DataError(
                    f"numeric feature {column!r} has no values in the training data; "
                    "fix the data or leave the column out of data.numeric_features"
                )
            edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))
            numeric[column] = NumericReference(values, edges, _bin_shares(values, edges))
        categorical = {
            column: CategoricalReference(_category_counts(frame[column]))
            for column in features.categorical
        }
        return cls(numeric, categorical, len(frame))


@dataclass
class FeatureDrift:
    feature: str
    kind: str  # numeric | categorical
    test: str  # ks | chi-square
    statistic: float
    p_value: float
    psi: float
    batch_values: int
    p_adjusted: float = float("nan")
    drifted: bool = False
    unseen: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "feature": self.feature,
            "kind": self.kind,
            "test": self.test,
            "statistic": _finite(self.statistic),
            "p_value": _finite(self.p_value),
            "p_adjusted": _finite(self.p_adjusted),
            "psi": _finite(self.psi),
            "batch_values": self.batch_values,
            "drifted": self.drifted,
            "unseen_categories": self.unseen,
        }


@dataclass(frozen=True)
class DriftResult:
    features: list[FeatureDrift]
    share: float
    threshold: float
    correction: str
    psi_alarm: float = float("inf")

    @property
    def drifted_features(self) -> list[str]:
        return [result.feature for result in self.features if result.drifted]

    @property
    def alarming_features(self) -> list[str]:
        """Drifted features whose shift alone is large enough to alarm (PSI past psi_alarm):
        with many features, one badly broken column would never reach the share."""
        return [
            result.feature
            for result in self.features
            if result.drifted and result.psi > self.psi_alarm
        ]

    @property
    def detected(self) -> bool:
        return bool(self.features) and (
            self.share >= self.threshold or bool(self.alarming_features)
        )

    def to_dict(self) -> dict:
        return {
            "detected": self.detected,
            "share": round(self.share, 6),
            "threshold": self.threshold,
            "correction": self.correction,
            "psi_alarm": self.psi_alarm,
            "drifted_features": self.drifted_features,
            "alarming_features": self.alarming_features,
            "features": [result.to_dict() for result in self.features],
        }


def _finite(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def numeric_columns(frame: pd.DataFrame, names: tuple[str, ...]) -> np.ndarray:
    """The columns as float64 rows, one contiguous row per column (NaN for missing).

    One transposing copy up front is much cheaper than reading each column out of
    a wide row-major block.
    """
    block = frame[list(names)]
    if not all(pd.api.types.is_numeric_dtype(block[name]) for name in names):
        block = block.apply(pd.to_numeric, errors="coerce")
    return np.ascontiguousarray(block.to_numpy(dtype="float64", na_value=np.nan).T)


def _bin_shares(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of values in (-inf, e1], (e1, e2], ..., (ek, inf), from sorted values."""
    cuts = np.searchsorted(sorted_values, edges, side="right")
    counts = np.diff(np.concatenate(([0], cuts, [sorted_values.size])))
    return counts / sorted_values.size


def _category_counts(column: pd.Series) -> dict[str, int]:
    labels = column.astype("object").where(column.notna(), MISSING).map(str)
    return {str(key): int(value) for key, value in labels.value_counts().items()}


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two share vectors over the same bins."""
    expected = np.maximum(expected, PSI_FLOOR)
    actual = np.maximum(actual, PSI_FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def ks_sorted(reference: np.ndarray, batch: np.ndarray) -> tuple[float, float]:
    """Two-sided two-sample KS statistic and p-value of two sorted samples.

    Small samples go to scipy.stats.ks_2samp (exact p-value). Large ones reuse
    the sorted arrays: the ECDFs are compared at every observed value with
    searchsorted, and the p-value is scipy's asymptotic one (what ks_2samp
    itself uses above 10,000 values), which avoids sorting the pooled sample.
    """
    n, m = reference.size, batch.size
    if max(n, m) <= KS_EXACT_MAX:
        result = stats.ks_2samp(reference, batch)
        return float(result.statistic), float(result.pvalue)
    statistic = max(_largest_gap(reference, batch), _largest_gap(batch, reference))
    effective = round(n * m / (n + m))
    return statistic, float(stats.kstwo.sf(statistic, effective))


def _largest_gap(points: np.ndarray, other: np.ndarray) -> float:
    """max |ECDF_points - ECDF_other| over the values of `points` (both sorted).

    At a run of equal values only the last one carries the ECDF's full step.
    """
    last_of_run = np.append(points[1:] != points[:-1], True)
    own = (np.flatnonzero(last_of_run) + 1) / points.size
    theirs = np.searchsorted(other, points[last_of_run], side="right") / other.size
    return float(np.max(np.abs(own - theirs)))


def numeric_drift(name: str, reference: NumericReference, values: np.ndarray) -> FeatureDrift:
    values = np.sort(values[~np.isnan(values)])
    if values.size == 0:  # every value missing: nothing to test, and certainly a change
        return FeatureDrift(name, "numeric", "ks", 1.0, 0.0, float("inf"), 0)
    statistic, p_value = ks_sorted(reference.sorted_values, values)
    effect = psi(reference.shares, _bin_shares(values, reference.edges))
    return FeatureDrift(name, "numeric", "ks", statistic, p_value, effect, int(values.size))


def categorical_drift(
    name: str, reference: CategoricalReference, column: pd.Series
) -> FeatureDrift:
    counts = _category_counts(column)
    categories = sorted(set(reference.counts) | set(counts))
    table = np.array(
        [
            [reference.counts.get(category, 0) for category in categories],
            [counts.get(category, 0) for category in categories],
        ],
        dtype="float64",
    )
    if len(categories) < 2:
        statistic, p_value = 0.0, 1.0
    else:
        test = stats.chi2_contingency(table, correction=False)
        statistic, p_value = float(test.statistic), float(test.pvalue)
    shares = table / table.sum(axis=1, keepdims=True)
    unseen = {category: counts[category] for category in counts if category not in reference.counts}
    return FeatureDrift(
        name,
        "categorical",
        "chi-square",
        statistic,
        p_value,
        psi(shares[0], shares[1]),
        len(column),
        unseen=unseen,
    )


def adjust(p_values: np.ndarray, correction: str) -> np.ndarray:
    """p-values corrected for testing every feature at once."""
    if p_values.size == 0:
        return p_values
    if correction == "bonferroni":
        return np.minimum(p_values * p_values.size, 1.0)
    return stats.false_discovery_control(p_values, method="bh")


def detect(
    profile: ReferenceProfile, batch: pd.DataFrame, settings: MonitoringParams
) -> DriftResult:
    """Test every feature of the profile on the batch and give the data-set verdict."""
    columns = numeric_columns(batch, tuple(profile.numeric))
    results = [
        numeric_drift(name, reference, values)
        for (name, reference), values in zip(profile.numeric.items(), columns, strict=True)
    ] + [
        categorical_drift(name, reference, batch[name])
        for name, reference in profile.categorical.items()
    ]
    adjusted = adjust(np.array([result.p_value for result in results]), settings.correction)
    for result, p_adjusted in zip(results, adjusted, strict=True):
        result.p_adjusted = float(p_adjusted)
        result.drifted = bool(p_adjusted < settings.alpha and result.psi > settings.psi_threshold)
    share = sum(result.drifted for result in results) / len(results) if results else 0.0
    return DriftResult(
        results, share, settings.drift_share, settings.correction, settings.psi_alarm
    )
