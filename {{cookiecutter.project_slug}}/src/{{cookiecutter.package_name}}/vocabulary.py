"""The words params.yaml and the code share, in a module that imports nothing of the project.

params.py validates against these names and core/ acts on them, so both import them
from here and neither imports the other for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# task -> model.type in params.yaml -> the scikit-learn estimator class.
ESTIMATORS: dict[str, dict[str, str]] = {
    "classification": {
        "logistic_regression": "sklearn.linear_model.LogisticRegression",
        "random_forest": "sklearn.ensemble.RandomForestClassifier",
        "gradient_boosting": "sklearn.ensemble.GradientBoostingClassifier",
    },
    "regression": {
        "ridge": "sklearn.linear_model.Ridge",
        "random_forest": "sklearn.ensemble.RandomForestRegressor",
        "gradient_boosting": "sklearn.ensemble.GradientBoostingRegressor",
    },
}

DIRECTIONS = ("higher", "lower")
# How `mlops monitor` corrects its per-feature tests for running many of them.
CORRECTIONS = ("benjamini-hochberg", "bonferroni")
# Who posts the pull-request report (`report.poster`; the `report_poster` answer).
POSTERS = ("cml", "builtin")
# How a metric's change against the baseline is read (`gates.<metric>.decide`): `interval`
# fails only when the whole paired 95% interval lies beyond the tolerance, `point` when
# the change on all rows does (docs/decisions.md argues the default).
DECISIONS = ("interval", "point")


@dataclass(frozen=True)
class MetricRule:
    """Which way is better, and how much worse than the baseline is still accepted.

    A drop is tolerated when it is within `abs_tolerance` or within
    `rel_tolerance` times the baseline's magnitude (either suffices).
    `minimum`/`maximum` (`min`/`max` in params.yaml) are absolute bounds that judge
    a model on a new data set, where no baseline on the same data exists.
    """

    direction: str
    abs_tolerance: float = 0.0
    rel_tolerance: float = 0.0
    gate: bool = True
    # Written `min` and `max` under a metric of `gates:`.
    minimum: float | None = field(default=None, metadata={"name": "min"})
    maximum: float | None = field(default=None, metadata={"name": "max"})
    decide: str = "interval"
    # The worst value a slice (`report.slices`) with enough rows may have.
    slice_min: float | None = None

    @property
    def has_floor(self) -> bool:
        return self.gate and (self.minimum is not None or self.maximum is not None)

    def meets_floor(self, value: float) -> bool:
        return (self.minimum is None or value >= self.minimum - 1e-12) and (
            self.maximum is None or value <= self.maximum + 1e-12
        )

    def describe_floor(self) -> str:
        bounds = []
        if self.minimum is not None:
            bounds.append(f"at least {self.minimum:g}")
        if self.maximum is not None:
            bounds.append(f"at most {self.maximum:g}")
        return " and ".join(bounds) or "no floor"

    def slice_fails(self, value: float) -> bool:
        """A slice's value worse than `slice_min` (in the metric's direction)."""
        if self.slice_min is None or not self.gate or value != value:
            return False
        if self.direction == "higher":
            return value < self.slice_min - 1e-12
        return value > self.slice_min + 1e-12

    def allowed_drop(self, baseline: float) -> float:
        return max(self.abs_tolerance, self.rel_tolerance * abs(baseline))

    def describe(self) -> str:
        parts = [f"{self.direction} is better"]
        if self.abs_tolerance:
            parts.append(f"tolerance {self.abs_tolerance:g}")
        if self.rel_tolerance:
            parts.append(f"tolerance {self.rel_tolerance:.1%} of the baseline")
        if self.minimum is not None or self.maximum is not None:
            parts.append(f"floor: {self.describe_floor()}")
        if self.decide != "interval":
            parts.append(f"decided on the {self.decide}")
        if self.slice_min is not None:
            bound = "at least" if self.direction == "higher" else "at most"
            parts.append(f"every slice {bound} {self.slice_min:g}")
        if not self.gate:
            parts.append("not gated")
        return ", ".join(parts)
