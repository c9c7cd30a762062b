"""The anchor of the gate: a baseline that does not move with every merge.

Judged against `main` alone, each merge may lose up to its tolerance, and a chain of
such merges walks a model down. The gate therefore also compares the branch with an
anchor under the same rules: the version in `production` (its metrics are on the
registry version) when a registry is reachable, otherwise the best release recorded
in the repository, i.e. for each gated metric the best value `main`'s first-parent
history committed since its data set began (every merge to `main` is a release).
See docs/decisions.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from .gates import Comparison, MetricRule, failures, judge
from .markdown import table


@dataclass(frozen=True)
class Release:
    """One release's metrics: a commit of `main`, or a registry version."""

    label: str
    metrics: dict[str, float]


@dataclass(frozen=True)
class Anchor:
    """The anchor's value of each gated metric, and which release holds it."""

    source: str
    metrics: dict[str, float]
    holders: dict[str, str]


def best_releases(releases: list[Release], rules: dict[str, MetricRule]) -> Anchor | None:
    """For each gated metric, the best value among `releases` (newest first wins a tie)."""
    metrics: dict[str, float] = {}
    holders: dict[str, str] = {}
    for release in releases:
        for name, rule in rules.items():
            value = release.metrics.get(name)
            if not rule.gate or value is None:
                continue
            best = metrics.get(name)
            if best is None or (value > best if rule.direction == "higher" else value < best):
                metrics[name], holders[name] = value, release.label
    if not metrics:
        return None
    return Anchor(f"the best release on `main` ({len(releases)} compared)", metrics, holders)


def from_release(release: Release, rules: dict[str, MetricRule], source: str) -> Anchor | None:
    """One release (the version in production) as the anchor of every gated metric."""
    metrics = {
        name: value for name, value in release.metrics.items() if name in rules and rules[name].gate
    }
    if not metrics:
        return None
    return Anchor(source, metrics, dict.fromkeys(metrics, release.label))


def against_anchor(
    anchor: Anchor, candidate: dict[str, float], rules: dict[str, MetricRule]
) -> list[Comparison]:
    """Each gated metric the anchor has, judged by the same rule as against `main`."""
    return [
        judge(name, value, candidate.get(name), rules[name])
        for name, value in anchor.metrics.items()
        if name in rules
    ]


def anchor_failure(anchor: Anchor | None, judged: list[Comparison]) -> str | None:
    """The verdict's reason when the branch fails against the anchor, or None."""
    failed = failures(judged)
    if anchor is None or not failed:
        return None
    names = ", ".join(f"`{c.name}`" for c in failed)
    return (
        f"{names} beyond tolerance against the anchor, {anchor.source} (small losses add "
        "up: see *Against the anchor*)"
    )


def anchor_section(
    anchor: Anchor | None, judged: list[Comparison], base: str, badges: dict[str, str]
) -> list[str]:
    """The second comparison of the report: the branch against the anchor (`badges`: how
    the report shows each verdict)."""
    if anchor is None:
        return [
            "### Against the anchor",
            "",
            f"No anchor: no release to compare with besides `{base}` (no registry reachable "
            "and no earlier metrics on its data set).",
        ]
    rows = [
        [
            c.name,
            f"{c.baseline:.4f}" if c.baseline is not None else "n/a",
            anchor.holders.get(c.name, "?"),
            f"{c.candidate:.4f}" if c.candidate is not None else "n/a",
            f"{c.delta:+.4f}" if c.delta is not None else "n/a",
            badges.get(c.verdict, c.verdict),
        ]
        for c in judged
    ]
    lines = [
        "### Against the anchor",
        "",
        f"Besides `{base}`, the branch is judged with the same rules against {anchor.source}, "
        f"which does not move with every merge: a series of merges each within tolerance of "
        f"the `{base}` before it cannot walk the model down.",
        "",
        table(
            ["metric", "anchor", "held by", "branch", "change", "verdict"],
            rows,
            ["---", "---:", "---", "---:", "---:", "---"],
        ),
    ]
    failed = failures(judged)
    if failed:
        lines += ["", "**Beyond tolerance against the anchor:**", ""]
        lines += [f"- {c.explain()}" for c in failed]
    return lines
