"""What a deploy does with a candidate, decided from what the registry holds (no MLflow)."""

import pytest

from {{ cookiecutter.package_name }}.core.release import PROMOTED_TAG, VERIFIED_TAG, Release, decide


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
