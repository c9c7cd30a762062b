"""What `mlops deploy` does with a candidate, decided from what the registry already holds.

A release can be interrupted between registering a version and moving the alias (a
runner that dies, a server that stops answering). Deploying the same commit again then
finds the version it registered; this decision says whether to start, resume or stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

# Set on a version when deploy first moves the alias to it.
PROMOTED_TAG = "promoted_at"
VERIFIED_TAG = "verified"
# "passed" or "failed": the integration tests on the staged version.
INTEGRATION_TAG = "integration_tests"


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
