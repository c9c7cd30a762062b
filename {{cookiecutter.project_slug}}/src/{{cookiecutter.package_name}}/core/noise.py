"""The gate's reading of noise: paired intervals on the same rows, slices, and an owned
override, kept apart from the point comparison of core.gates that they refine.

`measure` turns per-row outcomes (core.outcomes) into a `Noise`; `refine` lets the paired
interval decide each metric's verdict; `judge` adds the slices and the override to the
gate's verdict; the `*_section` functions are the report's tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .gates import (
    BELOW_FLOOR,
    IMPROVED,
    REGRESSED,
    WITHIN_TOLERANCE,
    WORSE_UNGATED,
    Comparison,
    MetricRule,
)
from .markdown import cell, code, table

if TYPE_CHECKING:  # the bootstrap's modules load scikit-learn: only where it runs
    from .outcomes import Outcomes
    from .paired import Difference, Interval, Slice

# As core.paired names it; repeated so the report renders without loading numpy.
WITHIN_NOISE = "within noise"

# What the rule decides from when it reads the paired interval.
REFINED = (IMPROVED, WITHIN_TOLERANCE, REGRESSED, WORSE_UNGATED)


@dataclass(frozen=True)
class Noise:
    """How sure the figures are: paired differences with main (when its outcomes pair with
    the branch's), else the branch's own intervals; and the branch's model per slice."""

    rows: int
    differences: dict[str, Difference]
    own: dict[str, Interval]
    unpaired: str | None = None
    slices: tuple[Slice, ...] = ()
    min_slice_rows: int = 30


@dataclass(frozen=True)
class Override:
    """A pull-request label that lets a failing gate pass; `by` is who applied it (read
    from GitHub's events), None when that could not be read (then it overrides nothing)."""

    label: str
    by: str | None
    problem: str | None = None
    # The pull request that carries the label, when it is not the event's own (a deploy
    # reads the one that merged its commit).
    pull_request: int | None = None

    @property
    def holds(self) -> bool:
        return self.by is not None


@dataclass(frozen=True)
class SliceFailure:
    slice: Slice
    metric: str
    value: float
    rule: MetricRule

    def explain(self) -> str:
        bound = "at least" if self.rule.direction == "higher" else "at most"
        where = f"{self.slice.column} = {self.slice.value}"
        return (
            f"`{self.metric}` is {self.value:.4f} on the slice {code(where)} "
            f"({self.slice.rows} rows); every slice must be {bound} {self.rule.slice_min:g}"
        )


def measure(
    candidate: Outcomes,
    baseline: Outcomes | None,
    *,
    unpaired: str | None = None,
    columns: dict[str, object] | None = None,
    bins: int = 4,
    min_slice_rows: int = 30,
) -> Noise:
    """Pair the candidate with the baseline when their rows agree; slice the candidate."""
    from .outcomes import unpaired_reason
    from .paired import intervals, paired, slices

    if baseline is not None and unpaired is None:
        unpaired = unpaired_reason(baseline, candidate)
    differences: dict[str, Difference] = {}
    own: dict[str, Interval] = {}
    if baseline is not None and unpaired is None:
        differences = paired(candidate.rows, baseline.predictions, candidate.predictions)
    else:
        own = intervals(candidate.rows, candidate.predictions)
    found = slices(candidate.rows, candidate.predictions, columns or {}, bins=bins)
    return Noise(len(candidate.keys), differences, own, unpaired, tuple(found), min_slice_rows)


def refine(judged: list[Comparison], noise: Noise | None) -> list[Comparison]:
    """Each metric's verdict read from its paired interval (`decide` of its rule):
    regressed, within noise or improved. A metric without a pairing keeps its verdict."""
    if noise is None or not noise.differences:
        return judged
    from .paired import verdict as paired_verdict

    refined = []
    for comparison in judged:
        difference = noise.differences.get(comparison.name)
        rule = comparison.rule
        if (
            difference is None
            or rule is None
            or comparison.verdict not in REFINED
            or comparison.baseline is None
        ):
            refined.append(comparison)
            continue
        verdict = paired_verdict(
            difference,
            direction=rule.direction,
            allowed_drop=rule.allowed_drop(comparison.baseline),
            gate=rule.gate,
            decide=rule.decide,
        )
        passing = verdict in (IMPROVED, WITHIN_NOISE)
        if passing and rule.has_floor and not rule.meets_floor(comparison.candidate or 0.0):
            verdict = BELOW_FLOOR
        refined.append(replace(comparison, verdict=verdict))
    return refined


def slice_failures(noise: Noise | None, rules: dict[str, MetricRule]) -> list[SliceFailure]:
    """Slices with enough rows whose value of a metric is worse than its `slice_min`."""
    if noise is None:
        return []
    found = []
    for part in noise.slices:
        if part.rows < noise.min_slice_rows:
            continue
        for name, rule in rules.items():
            interval = part.metrics.get(name)
            if interval is not None and rule.slice_fails(interval.point):
                found.append(SliceFailure(part, name, interval.point, rule))
    return found


FAILED = "## ❌ Quality gate failed: "


def judge(
    passed: bool,
    line: str,
    noise: Noise | None,
    rules: dict[str, MetricRule],
    override: Override | None,
    *,
    overridable: bool = True,
) -> tuple[bool, str]:
    """The gate's verdict with the slices and the override: a slice below its `slice_min`
    fails it; a held override label passes a failure (not `overridable`: CI could not
    back the branch's numbers, which no label changes)."""
    failing = slice_failures(noise, rules)
    if failing:
        names = ", ".join(
            f"`{f.metric}` on {code(f'{f.slice.column} = {f.slice.value}')}" for f in failing
        )
        reason = f"{len(failing)} slice{'s' * (len(failing) != 1)} below `slice_min` ({names})"
        line = f"{FAILED}{reason}" if passed else f"{line}; and {reason}"
        passed = False
    if not passed and overridable and override is not None and override.holds:
        why = line.removeprefix(FAILED)
        return True, (
            f"## ✅ Quality gate overridden by @{override.by} ({code(override.label)}): {why}"
        )
    return passed, line


def _interval_text(interval: Interval) -> str:
    if not math.isfinite(interval.low):
        return "n/a"
    return f"[{interval.low:+.4f}, {interval.high:+.4f}]"


def _range_text(interval: Interval) -> str:
    if not math.isfinite(interval.low):
        return f"{interval.point:.4f}"
    return f"{interval.point:.4f} [{interval.low:.4f}, {interval.high:.4f}]"


def noise_section(noise: Noise | None, rules: dict[str, MetricRule], base: str) -> list[str]:
    """The paired differences with their 95% intervals, or the branch's own intervals."""
    if noise is None:
        return []
    lines = ["### Noise: 95% intervals", ""]
    if noise.differences:
        from .paired import verdict as paired_verdict

        lines += [
            f"The branch's model and `{cell(base)}`'s scored on the same {noise.rows} test "
            "rows; each change's interval comes from a paired bootstrap over the rows "
            "(1,000 resamples, seeded). `interval` fails a metric only when the whole "
            "interval lies below -tolerance; `point` when the change on all rows does.",
            "",
        ]
        rows = []
        for name, difference in noise.differences.items():
            rule = rules.get(name)
            verdict = (
                paired_verdict(
                    difference,
                    direction=rule.direction,
                    allowed_drop=rule.allowed_drop(difference.baseline),
                    gate=rule.gate,
                    decide=rule.decide,
                )
                if rule
                else "no rule"
            )
            rows.append(
                [
                    name,
                    f"{difference.baseline:.4f}",
                    f"{difference.candidate:.4f}",
                    f"{difference.delta.point:+.4f}",
                    _interval_text(difference.delta),
                    rule.decide if rule else "",
                    verdict,
                ]
            )
        lines.append(
            table(
                ["metric", cell(base), "branch", "change", "95% interval", "decide", "verdict"],
                rows,
                ["---", "---:", "---:", "---:", "---", "---", "---"],
            )
        )
        return lines
    lines += [
        f"Not paired with `{cell(base)}`: {noise.unpaired or 'no outcomes to pair with'}. "
        f"The branch's own 95% intervals over its {noise.rows} test rows show how far each "
        "figure could move by chance; the tolerances (or, on a new data set, the floors) judge.",
        "",
        table(
            ["metric", "branch [95% interval]"],
            [[name, _range_text(interval)] for name, interval in noise.own.items()],
            ["---", "---"],
        ),
    ]
    return lines


def slices_section(noise: Noise | None, rules: dict[str, MetricRule]) -> list[str]:
    """Each metric per slice with its interval, the worst slice first."""
    if noise is None or not noise.slices:
        return []
    from .paired import worst_first

    names = list(noise.slices[0].metrics)
    floored = [n for n in rules if rules[n].slice_min is not None and n in names]
    first = (floored or [n for n in rules if n in names] or names)[0]
    rule = rules.get(first)
    ordered = worst_first(list(noise.slices), first, rule.direction if rule else "higher")
    failing = {(f.slice.column, f.slice.value, f.metric) for f in slice_failures(noise, rules)}
    rows = []
    for part in ordered:
        small = part.rows < noise.min_slice_rows
        values = []
        for name in names:
            text = _range_text(part.metrics[name])
            values.append(f"**{text}** ❌" if (part.column, part.value, name) in failing else text)
        rows.append(
            [code(part.column), cell(part.value), f"{part.rows}{' (too few)' * small}", *values]
        )
    return [
        "### Slices",
        "",
        f"The branch's model on each slice of the test rows, worst `{first}` first; a slice "
        f"of fewer than {noise.min_slice_rows} rows is shown, not judged.",
        "",
        table(
            ["column", "slice", "rows", *names],
            rows,
            ["---", "---", "---:", *["---:"] * len(names)],
        ),
    ]


def override_section(override: Override | None) -> list[str]:
    """Who let a failing gate pass, or why a label present did not."""
    if override is None:
        return []
    if override.holds:
        return [
            "> [!CAUTION]",
            f"> Gate overridden: @{override.by} applied the label {code(override.label)}. "
            "The figures below still say what regressed; the merge ships it knowingly.",
        ]
    return [
        "> [!WARNING]",
        f"> The label {code(override.label)} is on this pull request, but who applied it "
        f"could not be read ({override.problem}), so it overrides nothing.",
    ]
