"""What `mlops deploy` does with a candidate, decided from what the registry already holds.

A release can be interrupted between registering a version and moving the alias (a
runner that dies, a server that stops answering). Deploying the same commit again then
finds the version it registered; this decision says whether to start, resume or stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import Enum

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
