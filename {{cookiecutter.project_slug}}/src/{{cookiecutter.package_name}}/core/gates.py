"""Metric comparison with per-metric rules: one mechanism for every quality gate.

The pull-request gate (branch vs. `main`), the champion gate of a deploy
(candidate vs. production) and the degradation check of monitoring all compare
two metric dicts with the rules under `gates:` in params.yaml.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

# Declared beside the names params.yaml uses; imported from here by the rest of core/.
from ..vocabulary import MetricRule

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
# On a new data set, a metric is judged by its absolute floor (`min`, or `max` when
# lower is better), not against a baseline measured on other data.
MEETS_FLOOR = "meets its floor"
BELOW_FLOOR = "below its floor"
NO_FLOOR = "no floor (not judged)"


@dataclass(frozen=True)
class Comparison:
    name: str
    baseline: float | None
    candidate: float | None
    verdict: str
    rule: MetricRule | None
    # Judged by its floor alone, the baseline having been measured on other data.
    other_data: bool = False

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
        return self.verdict in (REGRESSED, MISSING, BELOW_FLOOR)

    def explain(self) -> str:
        """One sentence naming the metric, both values and the rule."""
        if self.verdict == MISSING:
            return (
                f"{self.name} missing: {format_value(self.baseline)} -> n/a (a gated metric; "
                "compute it again, or set `gate: false` for it in params.yaml `gates`)"
            )
        if self.verdict == BELOW_FLOOR and not self.other_data and self.rule:
            return (
                f"{self.name} {self.verdict}: {format_value(self.baseline)} -> "
                f"{format_value(self.candidate)} (floor: {self.rule.describe_floor()}; a floor "
                "holds on every branch, whatever the change against the baseline)"
            )
        if self.verdict in (MEETS_FLOOR, BELOW_FLOOR, NO_FLOOR):
            floor = self.rule.describe_floor() if self.rule else "no rule"
            return (
                f"{self.name} {self.verdict}: {format_value(self.candidate)} (floor: {floor}; "
                f"{format_value(self.baseline)} before, on the other data set)"
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
    judged = _against_baseline(name, baseline, candidate, rule)
    passing = judged.verdict in (IMPROVED, WITHIN_TOLERANCE, UNCHANGED)
    if passing and rule and rule.has_floor and not rule.meets_floor(judged.candidate or 0.0):
        # One rule everywhere: a floor that fails a new data set fails this branch too.
        return replace(judged, verdict=BELOW_FLOOR)
    return judged


def _against_baseline(
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


def judge_floors(
    baseline: dict[str, float], candidate: dict[str, float], rules: dict[str, MetricRule]
) -> list[Comparison]:
    """A model on a new data set: each gated metric against its absolute floor in `rules`.

    A gated metric with a floor that the candidate lacks is missing; a metric without a
    floor is shown, not judged (its baseline was measured on other data)."""
    names = [*rules, *sorted((set(baseline) | set(candidate)) - set(rules))]
    judged = []
    for name in names:
        rule, value = rules.get(name), candidate.get(name)
        floored = rule is not None and rule.has_floor
        if name not in baseline and name not in candidate and not floored:
            continue
        if rule is None or not rule.has_floor:
            verdict = NO_FLOOR
        elif value is None:
            verdict = MISSING
        else:
            verdict = MEETS_FLOOR if rule.meets_floor(value) else BELOW_FLOOR
        judged.append(Comparison(name, baseline.get(name), value, verdict, rule, other_data=True))
    return judged


def floors_of(rules: dict[str, MetricRule]) -> dict[str, MetricRule]:
    """The gated rules that set a floor."""
    return {name: rule for name, rule in rules.items() if rule.has_floor}


def failures(comparisons: list[Comparison]) -> list[Comparison]:
    return [comparison for comparison in comparisons if comparison.fails]


ADDED = "added"
LOOSENED = "loosened"
TIGHTENED = "tightened"
RULE_CHANGED = "changed"


def _bound_step(old: float | None, new: float | None, *, lower_accepts_more: bool) -> float:
    """> 0 when the new floor accepts more (lowered `min`, raised `max`, or dropped)."""
    if old == new:
        return 0.0
    if new is None:
        return 1.0
    if old is None:
        return -1.0
    return (old - new) if lower_accepts_more else (new - old)


@dataclass(frozen=True)
class RuleChange:
    """One metric whose rule differs between the baseline's `gates:` and the branch's."""

    name: str
    old: MetricRule | None
    new: MetricRule | None

    @property
    def kind(self) -> str:
        """added, removed, loosened (more regression accepted), tightened, or changed."""
        if self.old is None:
            return ADDED
        if self.new is None:
            return REMOVED
        if self.old.direction != self.new.direction:
            return RULE_CHANGED
        # (value, whether a larger value accepts more): tolerances, and gate off.
        aspects = [
            (self.new.abs_tolerance - self.old.abs_tolerance),
            (self.new.rel_tolerance - self.old.rel_tolerance),
            float(self.old.gate) - float(self.new.gate),
            _bound_step(self.old.minimum, self.new.minimum, lower_accepts_more=True),
            _bound_step(self.old.maximum, self.new.maximum, lower_accepts_more=False),
            # `interval` fails less often than `point`; a lower slice_min accepts more.
            float(self.new.decide == "interval") - float(self.old.decide == "interval"),
            _bound_step(
                self.old.slice_min,
                self.new.slice_min,
                lower_accepts_more=self.new.direction == "higher",
            ),
        ]
        if any(step > 0 for step in aspects):
            return LOOSENED
        if any(step < 0 for step in aspects):
            return TIGHTENED
        return RULE_CHANGED

    def describe(self) -> str:
        """`name: old -> new (kind)`, each rule in words."""
        old = self.old.describe() if self.old else "no rule"
        new = self.new.describe() if self.new else "no rule"
        return f"{self.name}: {old} -> {new} ({self.kind})"


def rule_changes(
    baseline: dict[str, MetricRule], branch: dict[str, MetricRule]
) -> list[RuleChange]:
    """Every metric whose rule the branch adds, removes or edits, in the baseline's order."""
    names = [*baseline, *(name for name in branch if name not in baseline)]
    return [
        RuleChange(name, baseline.get(name), branch.get(name))
        for name in names
        if baseline.get(name) != branch.get(name)
    ]


def judging_rules(
    baseline: dict[str, MetricRule], branch: dict[str, MetricRule]
) -> dict[str, MetricRule]:
    """The rules a branch is judged by: the baseline's, plus the branch's rule for a
    metric the baseline has no rule for. A branch cannot loosen, drop or edit a rule
    it is judged by; its edits take effect once merged."""
    return {**baseline, **{name: rule for name, rule in branch.items() if name not in baseline}}
