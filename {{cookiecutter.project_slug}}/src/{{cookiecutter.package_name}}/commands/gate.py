"""gate: fail when a metric regressed beyond its tolerance against the baseline revision.

It judges with the same inputs and rules as `mlops report`, and runs after the
report is posted, so a failing pull request still gets its comment. The rules are
the baseline's `gates` (a branch cannot loosen the rules it is judged by); a
metric the baseline has no rule for is judged by the branch's rule.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from ..core.noise import slice_failures
from ..core.report import (
    anchor_comparisons,
    comparisons,
    reproduction_failure,
    rules_note,
    verdict,
)
from ..params import Params
from .report import add_workspace_argument, judged_inputs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--baseline",
        help="git revision to compare with (default: report.baseline in params.yaml)",
    )
    add_workspace_argument(parser)


@dataclass(frozen=True)
class Options:
    baseline: str | None = None
    workspace: Path | None = None


def run(params: Params, options: Options) -> int:
    inputs = judged_inputs(params, options.baseline, options.workspace)
    passed, first_line = verdict(inputs)
    print(first_line.removeprefix("## "))
    base = inputs.baseline.label
    if inputs.data_set_changes and inputs.baseline.metrics is not None:
        print(
            f"gate: new data set ({'; '.join(inputs.data_set_changes)}): judged by the floors "
            f"(`min`/`max`) of `gates` at `{base}`, not against its metrics",
            file=sys.stderr,
        )
    if inputs.rules_fallback:
        print(f"gate: {rules_note(inputs)}.", file=sys.stderr)
    elif inputs.rule_changes:
        print(
            f"gate: {rules_note(inputs)}; they apply from the merge on, and a metric "
            f"`{base}` has no rule for is judged by the branch's rule:",
            file=sys.stderr,
        )
        for change in inputs.rule_changes:
            print(f"  - {change.describe()}", file=sys.stderr)
    if passed:
        return 0
    unproven = reproduction_failure(inputs)
    if unproven:
        print(f"gate: {unproven}", file=sys.stderr)
        return 1
    sliced = slice_failures(inputs.noise, inputs.rules)
    if sliced:
        print("These slices fall below `slice_min` in params.yaml `gates`:", file=sys.stderr)
        for failure in sliced:
            print(f"  - {failure.explain()}", file=sys.stderr)
    failing = [comparison for comparison in comparisons(inputs) or [] if comparison.fails]
    slid = [comparison for comparison in anchor_comparisons(inputs) if comparison.fails]
    if not failing and slid and inputs.anchor is not None:
        print(
            f"These metrics are within tolerance of `{base}` but not of the anchor, "
            f"{inputs.anchor.source} (the same rules):",
            file=sys.stderr,
        )
        for comparison in slid:
            holder = inputs.anchor.holders.get(comparison.name, "?")
            print(f"  - {comparison.explain()}; the anchor's value is {holder}'s", file=sys.stderr)
        return 1
    if not failing:  # slices only, or a new data set its baseline's gates set no floor for
        return 1
    where = "on this branch" if inputs.rules_fallback else f"at `{base}`"
    print(
        f"These metrics fail their rule in params.yaml `gates` {where}:",
        file=sys.stderr,
    )
    added = {change.name for change in inputs.rule_changes if change.old is None}
    for comparison in failing:
        own = " (the branch's new rule)" if comparison.name in added else ""
        print(f"  - {comparison.explain()}{own}", file=sys.stderr)
    return 1
