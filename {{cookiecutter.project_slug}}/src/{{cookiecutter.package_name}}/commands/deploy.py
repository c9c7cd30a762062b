"""deploy: release the model that dvc.lock records for this commit. It never retrains.

In order, and nothing is written to the registry until every check passed:
1. the git workspace is a clean commit and matches dvc.lock (missing outputs are
   pulled from the DVC remote; stale ones are refused, naming the stage);
2. the tracking server answers, and this release is not registered yet
   (the same commit or dvc.lock is reported, not registered twice);
3. the champion gate: the candidate's metrics against those tagged on the
   version that holds the production alias, with the rules of `gates:`; a failure
   passes only when the pull request that merged this commit carries the override
   label (`report.override_label`), as its own gate did, and the version records who;
4. the model directory is registered as a new version with its provenance, and
   the registered files are checked byte for byte against the workspace;
5. `dvc push` stores the outputs in the default remote;
6. staging: the staging alias moves to the version (and its KServe manifest is
   written), and the staging checks run against it, served from the registry
   over HTTP on a loopback port: the input example, the latency budget, the
   metrics on the held-out rows; latency and throughput are tagged on the version;
7. production: the production alias moves (the outgoing version gets the previous
   alias) and its KServe manifest is written. `--to staging` stops before this.
A failure at any step leaves the production alias where it was.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.noise import Override
from ..core.release import (
    PROMOTED_TAG,
    STAGING_CHECKS_TAG,
    Champion,
    Release,
    Verdict,
    broken_problem,
    champion_verdict,
    decide,
    new_data_set_note,
    released_note,
)
from ..errors import ProjectError
from ..integrations import dvc, git, github, serving
from ..params import Params

if TYPE_CHECKING:  # MLflow is imported when a deploy runs, so `--help` answers at once.
    from ..integrations.registry import Provenance, Registry

REFUSED = 1
NEW_DATA_SET_FLAG_TAG = "new_data_set"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        action="store_true",
        help="only check the workspace, the tracking server and the champion gate; change nothing",
    )
    parser.add_argument(
        "--check-storage",
        action="store_true",
        help="only tell whether the outputs of dvc.lock can reach this machine (they are here, "
        "or in a DVC remote it can read); in GitHub Actions set the step output `ready` and, "
        "when they cannot, print a notice (README: Storage) instead of failing",
    )
    parser.add_argument(
        "--new-data-set",
        action="store_true",
        help="the first release of a model trained on another data set than production's: "
        "judge it by the floors (min/max) of `gates` instead of against production, and "
        f"record this on the new version (tag {NEW_DATA_SET_FLAG_TAG})",
    )
    parser.add_argument(
        "--summary",
        type=Path,
        metavar="FILE",
        help="also append what happened, as Markdown, to FILE (in CI: $GITHUB_STEP_SUMMARY)",
    )
    parser.add_argument(
        "--to",
        choices=("staging", "production"),
        default="production",
        help="how far to release: `staging` stops once the staging checks passed; "
        "`production` (the default) also moves the production alias, skipping the tests "
        "when this release passed them on staging already",
    )


@dataclass(frozen=True)
class Options:
    check: bool = False
    check_storage: bool = False
    new_data_set: bool = False
    summary: Path | None = None
    to: str = "production"


class Transcript:
    """Prints each step and keeps it, for the Markdown summary of a CI run."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, text: str) -> None:
        print(text if text.startswith(" ") else f"deploy: {text}")
        self.lines.append(text)

    def append_to(self, path: Path) -> None:
        block = "\n".join(self.lines).replace("~~~", "~ ~ ~")
        with path.open("a", encoding="utf-8") as summary:
            summary.write(f"### mlops deploy\n\n~~~text\n{block}\n~~~\n")


def _existing_release(registry: Registry, provenance: Provenance):
    return next(
        (v for v in reversed(registry.versions()) if provenance.is_release_of(v.tags)), None
    )


def champion_gate(
    params: Params,
    registry: Registry,
    provenance: Provenance,
    say: Callable[[str], None] = print,
    *,
    new_data_set: bool = False,
    env: Mapping[str, str] | None = None,
) -> Verdict:
    """Report the comparison with production; `passed` if the candidate may replace it
    (`overridden`: by the merged pull request's override label, read only on a failure)."""
    from ..integrations.registry import RegistryError, metrics_from_tags

    holder = registry.holder(params.registry.alias)
    champion = (
        None
        if holder is None
        else Champion(str(holder.version), holder.tags, metrics_from_tags(holder.tags))
    )

    def judge(override: Override | None = None) -> Verdict:
        return champion_verdict(
            params.registry.alias,
            champion,
            provenance,
            params.gates,
            new_data_set=new_data_set,
            override=override,
        )

    verdict = judge()
    if not verdict.passed and not verdict.problem:
        override = release_override(params, env)
        if override is not None:
            verdict = judge(override)
    if verdict.problem:
        raise RegistryError(verdict.problem)
    for line in verdict.said:
        say(line)
    return verdict


def release_override(params: Params, env: Mapping[str, str] | None = None) -> Override | None:
    """The override label on the pull request that merged this commit, with who applied
    it, for a deploy run by a push in GitHub Actions; None when it carries none."""
    env = dict(os.environ) if env is None else env
    label = params.report.override_label
    if not label or not github.in_actions(env):
        return None
    try:
        merged = github.merged_pull_request(env)
        if merged is None or label not in merged[1]:
            return None
        pull_request = merged[0]
        who = github.who_labeled(pull_request, label)
    except ProjectError as error:
        return Override(label, None, str(error))
    missing = None if who else "GitHub's events of the pull request name no one who applied it"
    return Override(label, who, missing, pull_request=pull_request.number)


STORAGE_NOTICE = (
    "no release: the outputs of dvc.lock are not here and no DVC remote this machine can "
    "read holds them (the default remote of storage=local is a folder on the machine that "
    "ran the pipeline); to release on every merge to main, set up shared storage "
    "(README: Storage)"
)


def check_storage(root: Path) -> int:
    """Whether a release can run here: the outputs are present, or a DVC remote this
    machine reaches can supply them. Answers, never fails: a project without shared
    storage yet gets a neutral skip in CI, not a red run on every merge."""
    here = dvc.outputs_here(root)
    remote = None if here else dvc.shared_remote(root)
    ready = here or remote is not None
    if ready:
        where = "this workspace" if here else f"DVC remote '{remote}'"
        print(f"deploy: the outputs of dvc.lock can come from {where}; a release can run")
    elif github.in_actions():
        print(f"::notice title=deploy skipped::{STORAGE_NOTICE}")
    else:
        print(f"deploy: {STORAGE_NOTICE}")
    github.write_outputs({"ready": "true" if ready else "false"})
    return 0


def run(params: Params, options: Options) -> int:
    from ..integrations.registry import registry_errors

    if options.check_storage:
        return check_storage(params.root)

    say = Transcript()
    try:
        with registry_errors():
            return release(params, options, say)
    except ProjectError as error:
        say.lines.append(f"error: {error}")
        raise
    finally:
        if options.summary:
            say.append_to(options.summary)


def release(params: Params, options: Options, say: Callable[[str], None]) -> int:
    from ..integrations import mlflow as tracking
    from ..integrations.registry import (
        Registry,
        RegistryError,
        collect_provenance,
        require_tracking_server,
    )

    require_tracking_server()
    commit = git.git_commit(params.root)
    dvc.require_in_sync(params.root)
    provenance = collect_provenance(params, commit)
    registry = Registry(params)
    name, alias = params.registry.model_name, params.registry.alias
    say(
        f"candidate from commit {commit[:12]} (dvc.lock {provenance.dvc_lock_md5}) "
        f"for '{name}' in {tracking.redact(registry.uri)}"
    )

    existing = _existing_release(registry, provenance)
    holder = registry.aliases().get(alias)
    decision = decide(
        None if existing is None else str(existing.version),
        {} if existing is None else existing.tags,
        holder,
    )
    if decision is Release.RELEASED:
        commit_of = existing.tags.get("git_commit", "?")
        say(released_note(name, alias, str(existing.version), commit_of, holder))
        return 0
    if decision is Release.BROKEN:
        raise RegistryError(broken_problem(name, str(existing.version)))

    verdict = champion_gate(params, registry, provenance, say, new_data_set=options.new_data_set)
    if not verdict.passed:
        return REFUSED
    provenance = with_notes(provenance, verdict, options.new_data_set, alias, holder)
    if options.check:
        say("--check: every check passed; nothing was changed")
        return 0

    if decision is Release.NEW:
        version = str(registry.register(provenance, params.paths.model).version)
        say(f"registered version {version} of '{name}' with its provenance")
    else:
        version = str(existing.version)
        say(f"resuming the release of version {version}, registered earlier")
    say(f"{dvc.push_outputs(params.root)} (DVC remote)")
    tags = {} if existing is None else dict(existing.tags)
    if not stage_and_test(params, registry, version, tags, say):
        return REFUSED
    if options.to == "staging":
        say(f"--to staging: version {version} passed on staging; '{alias}' is unchanged")
        return 0
    promote(params, registry, version, say)
    return 0


def with_notes(
    provenance: Provenance, verdict: Verdict, new_data_set: bool, alias: str, holder: str | None
) -> Provenance:
    """The provenance with what the version records of how it passed the champion gate: a
    first release on a new data set, an override of a failed gate."""
    if verdict.overridden:
        provenance = replace(provenance, gate_override=verdict.overridden)
    if new_data_set:
        now = datetime.now(UTC)
        note = new_data_set_note(provenance.data_set, alias, holder, now)
        provenance = replace(provenance, new_data_set=note)
    return provenance


def stage_and_test(
    params: Params, registry: Registry, version: str, tags: dict[str, str], say
) -> bool:
    """Move the staging alias to `version` and run the staging checks against it.

    True when they pass (now, or before on this same staged version). A failure is
    tagged on the version and reported; the production alias is not touched.
    """
    from ..integrations import kserve, staging_checks

    staging, alias = params.registry.staging_alias, params.registry.alias
    already = registry.aliases().get(staging) == version
    if already and tags.get(STAGING_CHECKS_TAG) == "passed":
        say(f"version {version} passed the staging checks on '{staging}' already")
        return True
    registry.point(staging, version)
    say(f"staged: '{staging}' -> version {version}")
    say(kserve.write(params, registry, staging))
    model_uri = f"models:/{registry.name}@{staging}"
    say(f"staging checks against {model_uri}, served over HTTP:")
    try:
        outcome = staging_checks.run(params, model_uri, {"MLFLOW_TRACKING_URI": registry.uri}, say)
    except (staging_checks.StagingCheckError, serving.SmokeTestError) as error:
        registry.tag(version, STAGING_CHECKS_TAG, "failed")
        holder = registry.aliases().get(alias)
        where = f"stays on version {holder}" if holder else "holds no version yet"
        say(f"refused: the staging checks failed on version {version} ({error}); '{alias}' {where}")
        return False
    for key, value in outcome.latency.tags().items():
        registry.tag(version, key, value)
    registry.tag(version, STAGING_CHECKS_TAG, "passed")
    say(f"staging checks passed on version {version} ('{staging}')")
    return True


def promote(params: Params, registry: Registry, version: str, say) -> None:
    """Move the production alias to `version`; the outgoing version keeps `previous`."""
    from ..integrations import kserve

    alias = params.registry.alias
    outgoing = registry.move(alias, version)
    registry.tag(version, PROMOTED_TAG, datetime.now(UTC).isoformat(timespec="seconds"))
    after = f"'{alias}' -> version {version}"
    if outgoing is not None and outgoing != version:
        after += f"; '{params.registry.previous_alias}' -> version {outgoing}"
    say(f"promoted: {after}")
    say(kserve.write(params, registry, alias))
