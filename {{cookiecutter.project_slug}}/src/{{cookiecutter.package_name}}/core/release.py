"""What `mlops deploy` does with a candidate, decided from what the registry already holds.

Two decisions, both from plain values, so they are tested without a registry: whether
this release is new, resumed or done (`decide`), and whether the candidate may replace
production (`champion_verdict`: the champion gate, or the floors on a new data set).

A release can be interrupted between registering a version and moving the alias (a
runner that dies, a server that stops answering). Deploying the same commit again then
finds the version it registered; this decision says whether to start, resume or stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import Protocol

from . import gates
from .gates import MetricRule
from .noise import Override

# Set on a version when deploy first moves the alias to it.
PROMOTED_TAG = "promoted_at"
VERIFIED_TAG = "verified"
# "passed" or "failed": the staging checks on the staged version.
STAGING_CHECKS_TAG = "staging_checks"


class Release(Enum):
    NEW = "new"  # nothing registered for this commit or dvc.lock: run the whole release
    RESUME = "resume"  # registered and verified, never promoted: promote it, register nothing
    RELEASED = "released"  # promoted before, or holds the alias now: change nothing
    BROKEN = "broken"  # registered, but its files were not verified: a person must look


def decide(
    existing_version: str | None, tags: Mapping[str, str], alias_holder: str | None
) -> Release:
    """`existing_version`/`tags`: the version registered for this release, if any."""
    if existing_version is None:
        return Release.NEW
    if tags.get(PROMOTED_TAG) or alias_holder == existing_version:
        return Release.RELEASED
    if tags.get(VERIFIED_TAG) != "true":
        return Release.BROKEN
    return Release.RESUME


def released_note(name: str, alias: str, version: str, commit: str, holder: str | None) -> str:
    """What deploy says when this release's version exists and was released before."""
    where = (
        f"it holds '{alias}'"
        if holder == version
        else f"'{alias}' is on version {holder}; promote it again with "
        f"`mlops rollback --version {version}` if that is wanted"
    )
    return (
        f"already released as version {version} of '{name}' "
        f"(commit {commit[:12]}); no new version; {where}"
    )


def broken_problem(name: str, version: str) -> str:
    """Why deploy stops on a version registered for this release but never verified."""
    return (
        f"version {version} of '{name}' was registered for this release but its "
        "files were not verified; delete that version in MLflow and deploy again"
    )


def new_data_set_note(data_set: str, alias: str, holder: str | None, now: datetime) -> str:
    """The provenance note of a first release on a new data set (`deploy --new-data-set`)."""
    holder_text = f"version {holder}" if holder else "no version"
    return (
        f"{now.isoformat(timespec='seconds')}: first release on data set {data_set}; "
        f"'{alias}' was {holder_text} before"
    )


@dataclass(frozen=True)
class Champion:
    """The version that holds the production alias, as the registry tags it."""

    version: str
    tags: Mapping[str, str]
    metrics: dict[str, float]


class Candidate(Protocol):
    """What the champion gate reads of a candidate (a registry Provenance has it)."""

    @property
    def metrics(self) -> dict[str, float]: ...

    @property
    def data_schema(self) -> str: ...

    @property
    def data_set(self) -> str: ...


@dataclass(frozen=True)
class Verdict:
    """The champion gate's answer: whether the candidate may replace production, what
    to say about it, or the problem that keeps the gate from judging at all."""

    passed: bool
    said: tuple[str, ...] = ()
    problem: str | None = None
    # Set when a failed gate passed by the merged pull request's override label: the
    # words recorded on the version (tag gate_override).
    overridden: str | None = None


def champion_verdict(
    alias: str,
    champion: Champion | None,
    candidate: Candidate,
    rules: dict[str, MetricRule],
    *,
    new_data_set: bool = False,
    override: Override | None = None,
) -> Verdict:
    """The candidate against the version holding `alias`, by the rules of `gates:`.

    On the same data set the metrics are compared; on another one (--new-data-set)
    the candidate meets the floors of the rules instead. `override`: the override label
    of the pull request that merged this commit; it passes a failed comparison or floor
    (never a problem, nor a data set changed without --new-data-set), as it passed the
    pull request's gate.
    """
    if champion is None:
        if new_data_set:
            opening = f"--new-data-set: no version holds '{alias}' yet"
            return overridden(_floor_verdict({}, candidate, rules, opening), override)
        return Verdict(True, (f"no version holds '{alias}' yet; the first release is promoted",))
    moved = _data_set_verdict(alias, champion, candidate, rules, new_data_set)
    if moved is not None:
        return overridden(moved, override) if new_data_set else moved
    gated = [name for name, rule in rules.items() if rule.gate]
    if not any(name in champion.metrics for name in gated):
        return Verdict(
            False,
            problem=f"version {champion.version} ('{alias}') carries no metric tags for the "
            f"gated metrics ({', '.join(gated)}), so the champion gate cannot judge a "
            f"candidate; tag it with metric.<name> values or move '{alias}' with "
            "`mlops rollback --version N`",
        )
    comparisons = gates.compare(champion.metrics, candidate.metrics, rules)
    said = [f"champion gate against version {champion.version} ('{alias}'):"]
    said += [f"  {comparison.explain()}" for comparison in comparisons]
    failed = gates.failures(comparisons)
    if failed:
        names = ", ".join(comparison.name for comparison in failed)
        said.append(
            f"refused: the candidate fails the gate on {names} against version "
            f"{champion.version}; '{alias}' stays on version {champion.version} and nothing "
            "was registered"
        )
    return overridden(Verdict(not failed, tuple(said)), override)


def overridden(verdict: Verdict, override: Override | None) -> Verdict:
    """A failed gate verdict passed by a held override label (said, and the words for the
    version's tag), or refused with why an unreadable one overrides nothing."""
    if verdict.passed or verdict.problem or override is None:
        return verdict
    where = (
        f"pull request #{override.pull_request}"
        if override.pull_request
        else "the pull request that merged this commit"
    )
    if not override.holds:
        why = f"the override label `{override.label}` overrides nothing: {override.problem}"
        return replace(verdict, said=(*verdict.said, why))
    record = f"@{override.by} ({override.label}, {where})"
    said = (
        *verdict.said[:-1],
        f"overridden: @{override.by} applied the label `{override.label}` to {where}; the "
        "candidate goes on as a known regression, recorded on the version (tag gate_override)",
    )
    return Verdict(True, said, overridden=record)


def _data_set_verdict(
    alias: str,
    champion: Champion,
    candidate: Candidate,
    rules: dict[str, MetricRule],
    new_data_set: bool,
) -> Verdict | None:
    """None when production and the candidate learned from the same data set (the
    metrics are compared). A changed data set needs --new-data-set, and the flag is a
    problem when the data set is the same, so it never skips the comparison."""
    schema = champion.tags.get("data_schema")
    if schema is None and new_data_set:
        return Verdict(
            False,
            problem=f"version {champion.version} ('{alias}') records no data set (tag "
            "data_schema), so --new-data-set cannot tell that the data set changed; deploy "
            "without it",
        )
    if schema is None or schema == candidate.data_schema:
        if new_data_set:
            return Verdict(
                False,
                problem=f"--new-data-set is for a model trained on another data set than "
                f"version {champion.version} ('{alias}'), and this one uses the same "
                f"({candidate.data_set}); deploy without the flag, so the champion gate "
                "compares it with production",
            )
        return None
    was = champion.tags.get("data_set", schema)
    if not new_data_set:
        return Verdict(
            False,
            (
                f"refused: the candidate was trained on another data set ({candidate.data_set}) "
                f"than version {champion.version} ('{alias}': {was}), so the champion gate "
                "cannot compare them; if this is the move to a new data set, release it with "
                "`mlops deploy --new-data-set` (judged by the floors of `gates`, recorded on "
                "the version); nothing was registered",
            ),
        )
    opening = (
        f"--new-data-set: version {champion.version} ('{alias}') was trained on {was}, "
        f"the candidate on {candidate.data_set}"
    )
    return _floor_verdict(champion.metrics, candidate, rules, opening)


def _floor_verdict(
    baseline: dict[str, float], candidate: Candidate, rules: dict[str, MetricRule], opening: str
) -> Verdict:
    """A candidate on a new data set against the floors of `gates` (the release commit's)."""
    if not gates.floors_of(rules):
        return Verdict(
            False,
            (
                opening,
                "refused: params.yaml `gates` sets no floor (`min`, or `max` when lower is "
                "better) to judge a model on a new data set; add floors on main and deploy again",
            ),
        )
    comparisons = gates.judge_floors(baseline, candidate.metrics, rules)
    said = [opening, "floor gate (new data set), by the floors of `gates` in params.yaml:"]
    said += [f"  {comparison.explain()}" for comparison in comparisons]
    failed = gates.failures(comparisons)
    if failed:
        names = ", ".join(comparison.name for comparison in failed)
        said.append(f"refused: the candidate is below the floor on {names}; nothing was registered")
    return Verdict(not failed, tuple(said))
