"""What a deploy does with a candidate, decided from what the registry holds (no MLflow)."""

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from {{ cookiecutter.package_name }}.core.noise import Override
from {{ cookiecutter.package_name }}.core.release import (
    PROMOTED_TAG,
    VERIFIED_TAG,
    Champion,
    Release,
    broken_problem,
    champion_verdict,
    decide,
    new_data_set_note,
    released_note,
)
from {{ cookiecutter.package_name }}.vocabulary import MetricRule


@pytest.mark.parametrize(
    ("existing", "tags", "holder", "expected"),
    [
        (None, {}, None, Release.NEW),
        (None, {}, "3", Release.NEW),
        # Registered and verified, never promoted: the last run stopped before the alias moved.
        ("4", {VERIFIED_TAG: "true"}, "3", Release.RESUME),
        ("4", {VERIFIED_TAG: "true"}, None, Release.RESUME),
        # Promoted once (a rollback may have moved the alias away since): change nothing.
        ("4", {VERIFIED_TAG: "true", PROMOTED_TAG: "2026-01-01T00:00"}, "3", Release.RELEASED),
        ("4", {VERIFIED_TAG: "true"}, "4", Release.RELEASED),
        # Registered, but the bytes were never confirmed: a person must look.
        ("4", {}, "3", Release.BROKEN),
        ("4", {VERIFIED_TAG: "false"}, None, Release.BROKEN),
    ],
)
def test_the_release_decision(existing, tags, holder, expected):
    assert decide(existing, tags, holder) is expected


def test_a_release_already_done_says_where_the_alias_is():
    holds = released_note("m", "production", "3", "0123456789abcdef", "3")
    assert holds == (
        "already released as version 3 of 'm' (commit 0123456789ab); no new version; "
        "it holds 'production'"
    )
    moved = released_note("m", "production", "3", "0123456789abcdef", "4")
    assert moved.endswith(
        "'production' is on version 4; promote it again with "
        "`mlops rollback --version 3` if that is wanted"
    )


def test_an_unverified_version_names_its_fix():
    assert broken_problem("m", "2") == (
        "version 2 of 'm' was registered for this release but its files were not "
        "verified; delete that version in MLflow and deploy again"
    )


def test_the_new_data_set_note_records_when_and_what_the_alias_was():
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert new_data_set_note("abc123", "production", "7", now) == (
        "2026-01-02T03:04:05+00:00: first release on data set abc123; "
        "'production' was version 7 before"
    )
    assert new_data_set_note("abc123", "production", None, now).endswith(
        "'production' was no version before"
    )


@dataclass(frozen=True)
class Candidate:
    metrics: dict
    data_schema: str = "schema-a"
    data_set: str = "iris"


RULES = {"r2": MetricRule("higher", abs_tolerance=0.01, minimum=0.5)}
CHAMPION = Champion("3", {"data_schema": "schema-a", "data_set": "iris"}, {"r2": 0.80})


def test_the_first_release_is_promoted_without_a_comparison():
    verdict = champion_verdict("production", None, Candidate({"r2": 0.1}), RULES)
    assert verdict.passed and verdict.problem is None
    assert verdict.said == ("no version holds 'production' yet; the first release is promoted",)


@pytest.mark.parametrize(("r2", "passed"), [(0.80, True), (0.795, True), (0.70, False)])
def test_the_champion_gate_compares_with_production(r2, passed):
    verdict = champion_verdict("production", CHAMPION, Candidate({"r2": r2}), RULES)
    assert verdict.passed is passed and verdict.problem is None
    assert verdict.said[0] == "champion gate against version 3 ('production'):"
    assert verdict.said[1].startswith(f"  r2 {'regressed' if not passed else ''}")
    refusal = "refused: the candidate fails the gate on r2 against version 3"
    assert verdict.said[-1].startswith(refusal) is not passed


def test_a_champion_without_metric_tags_cannot_judge():
    bare = Champion("3", {"data_schema": "schema-a"}, {})
    verdict = champion_verdict("production", bare, Candidate({"r2": 0.9}), RULES)
    assert not verdict.passed and not verdict.said
    assert verdict.problem is not None
    assert verdict.problem.startswith(
        "version 3 ('production') carries no metric tags for the gated metrics (r2)"
    )


def test_another_data_set_needs_the_flag_and_then_meets_the_floors():
    moved = Candidate({"r2": 0.6}, data_schema="schema-b", data_set="penguins")
    refused = champion_verdict("production", CHAMPION, moved, RULES)
    assert not refused.passed and len(refused.said) == 1
    moved_from = "trained on another data set (penguins) than version 3 ('production': iris)"
    assert moved_from in refused.said[0]
    floors = champion_verdict("production", CHAMPION, moved, RULES, new_data_set=True)
    assert floors.passed
    assert floors.said[:2] == (
        "--new-data-set: version 3 ('production') was trained on iris, the candidate on penguins",
        "floor gate (new data set), by the floors of `gates` in params.yaml:",
    )
    below = Candidate({"r2": 0.4}, data_schema="schema-b", data_set="penguins")
    verdict = champion_verdict("production", CHAMPION, below, RULES, new_data_set=True)
    assert not verdict.passed
    assert verdict.said[-1] == (
        "refused: the candidate is below the floor on r2; nothing was registered"
    )


def test_the_new_data_set_flag_on_the_same_data_set_is_a_problem():
    verdict = champion_verdict(
        "production", CHAMPION, Candidate({"r2": 0.9}), RULES, new_data_set=True
    )
    assert not verdict.passed and verdict.problem is not None
    assert "uses the same (iris); deploy without the flag" in verdict.problem
    unknown = Champion("3", {}, {"r2": 0.8})
    verdict = champion_verdict(
        "production", unknown, Candidate({"r2": 0.9}), RULES, new_data_set=True
    )
    assert "records no data set (tag data_schema)" in (verdict.problem or "")


def test_gates_without_floors_cannot_pass_a_new_data_set():
    no_floor = {"r2": MetricRule("higher", abs_tolerance=0.01)}
    verdict = champion_verdict(
        "production", None, Candidate({"r2": 0.9}), no_floor, new_data_set=True
    )
    assert not verdict.passed
    assert verdict.said[0] == "--new-data-set: no version holds 'production' yet"
    assert verdict.said[1].startswith("refused: params.yaml `gates` sets no floor")


def test_an_override_label_passes_a_failed_champion_gate_and_is_recorded():
    worse = Candidate({"r2": 0.70})
    held = Override("accept-regression", "alice", pull_request=12)
    verdict = champion_verdict("production", CHAMPION, worse, RULES, override=held)
    assert verdict.passed
    assert verdict.overridden == "@alice (accept-regression, pull request #12)"
    assert verdict.said[1].startswith("  r2 regressed")  # the figures still show the drop
    assert verdict.said[-1].startswith(
        "overridden: @alice applied the label `accept-regression` to pull request #12"
    )
    # A label whose author could not be read overrides nothing, and says why.
    unread = Override("accept-regression", None, "GITHUB_TOKEN is not set", pull_request=12)
    refused = champion_verdict("production", CHAMPION, worse, RULES, override=unread)
    assert not refused.passed and refused.overridden is None
    assert refused.said[-1] == (
        "the override label `accept-regression` overrides nothing: GITHUB_TOKEN is not set"
    )
    # A passing candidate records no override; a data set changed without the flag is
    # refused whatever the label says.
    better = champion_verdict("production", CHAMPION, Candidate({"r2": 0.9}), RULES, override=held)
    assert better.passed and better.overridden is None
    moved = Candidate({"r2": 0.9}, data_schema="schema-b", data_set="penguins")
    assert not champion_verdict("production", CHAMPION, moved, RULES, override=held).passed
