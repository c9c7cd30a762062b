"""Metric comparison with per-metric rules: one mechanism for every quality gate.

The pull-request gate (branch vs. `main`), the champion gate of a deploy
(candidate vs. production) and the degradation check of monitoring all compare
two metric dicts with the rules under `gates:` in params.yaml.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DIRECTIONS = ("higher", "lower")

IMPROVED = "improved"
UNCHANGED = "unchanged"
WITHIN_TOLERANCE = "within tolerance"
REGRESSED = "regressed"
WORSE_UNGATED = "worse (not gated)"
CHANGED = "changed (no rule)"
NEW = "new"
REMOVED = "removed"
# A gated metric the baseline has and the candidate lacks: a gate that a deleted
# metric could pass would be no gate.
MISSING = "missing"


@dataclass(frozen=True)
class MetricRule:
    """Which way is better, and how much worse than the baseline is still accepted.

    A drop is tolerated when it is within `abs_tolerance` or within
    `rel_tolerance` times the baseline's magnitude (either suffices).
    """

    direction: str
    abs_tolerance: float = 0.0
    rel_tolerance: float = 0.0
    gate: bool = True

    def allowed_drop(self, baseline: float) -> float:
        return max(self.abs_tolerance, self.rel_tolerance * abs(baseline))

    def describe(self) -> str:
        parts = [f"{self.direction} is better"]
        if self.abs_tolerance:
            parts.append(f"tolerance {self.abs_tolerance:g}")
        if self.rel_tolerance:
            parts.append(f"tolerance {self.rel_tolerance:.1%} of the baseline")
        if not self.gate:
            parts.append("not gated")
        return ", ".join(parts)


@dataclass(frozen=True)
class Comparison:
    name: str
    baseline: float | None
    candidate: float | None
    verdict: str
    rule: MetricRule | None

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.candidate is None:
            return None
        return self.candidate - self.baseline

    @property
    def relative_delta(self) -> float | None:
        if self.delta is None or not self.baseline:
            return None
        return self.delta / abs(self.baseline)

    @property
    def fails(self) -> bool:
        return self.verdict in (REGRESSED, MISSING)

    def explain(self) -> str:
        """One sentence naming the metric, both values and the rule."""
        if self.verdict == MISSING:
            return (
                f"{self.name} missing: {format_value(self.baseline)} -> n/a (a gated metric; "
                "compute it again, or set `gate: false` for it in params.yaml `gates`)"
            )
        return (
            f"{self.name} {self.verdict}: {format_value(self.baseline)} -> "
            f"{format_value(self.candidate)} "
            f"({self.rule.describe() if self.rule else 'no rule in params.yaml gates'})"
        )


def format_value(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def judge(
    name: str, baseline: float | None, candidate: float | None, rule: MetricRule | None
) -> Comparison:
    if baseline is None:
        return Comparison(name, None, candidate, NEW, rule)
    if candidate is None:
        gated = rule is not None and rule.gate
        return Comparison(name, baseline, None, MISSING if gated else REMOVED, rule)
    if math.isclose(candidate, baseline, rel_tol=0, abs_tol=1e-12):
        return Comparison(name, baseline, candidate, UNCHANGED, rule)
    if rule is None:
        return Comparison(name, baseline, candidate, CHANGED, rule)
    gain = candidate - baseline if rule.direction == "higher" else baseline - candidate
    if gain > 0:
        verdict = IMPROVED
    elif not rule.gate:
        verdict = WORSE_UNGATED
    elif -gain <= rule.allowed_drop(baseline) + 1e-12:
        verdict = WITHIN_TOLERANCE
    else:
        verdict = REGRESSED
    return Comparison(name, baseline, candidate, verdict, rule)


def compare(
    baseline: dict[str, float], candidate: dict[str, float], rules: dict[str, MetricRule]
) -> list[Comparison]:
    """Every metric of either side, in the order of the rules, then the rest by name."""
    names = [*rules, *sorted((set(baseline) | set(candidate)) - set(rules))]
    return [
        judge(name, baseline.get(name), candidate.get(name), rules.get(name))
        for name in names
        if name in baseline or name in candidate
    ]


def failures(comparisons: list[Comparison]) -> list[Comparison]:
    return [comparison for comparison in comparisons if comparison.fails]
