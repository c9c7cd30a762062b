"""What a deploy does with a candidate, decided from what the registry holds (no MLflow)."""

from datetime import UTC, datetime

import pytest

from {{ cookiecutter.package_name }}.core.release import (
    PROMOTED_TAG,
    VERIFIED_TAG,
    Release,
    broken_problem,
    decide,
    new_data_set_note,
    released_note,
)


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
