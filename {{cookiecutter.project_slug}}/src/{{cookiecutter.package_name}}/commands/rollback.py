"""rollback: move the production alias back to the previous version, or to a given one.

No gate runs: a rollback is a person's decision to restore a version that was
released before. `previous` then names the version rolled back from, so a
second rollback undoes the first. A version trained on another data set than
production's (its features differ) is restored only with `--new-data-set`, which is
written on it, as a deploy does.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import ProjectError
from ..params import Params

NEW_DATA_SET_TAG = "new_data_set"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--version",
        default="",
        metavar="N",
        help="the registry version to restore (default, or empty: the previous version)",
    )
    parser.add_argument(
        "--new-data-set",
        action="store_true",
        help="restore a version trained on another data set than production's "
        "(written on the version)",
    )


@dataclass(frozen=True)
class Options:
    version: str = ""
    new_data_set: bool = False


def crossing(current: Any, wanted: Any, alias: str, new_data_set: bool) -> str | None:
    """The note to write on `wanted` when the rollback moves `alias` to another data set
    (None: the same data set). Refused without --new-data-set, and the flag is refused
    when the data set is the same, so it is never given by habit."""
    was = current.tags.get("data_schema")
    will = wanted.tags.get("data_schema")
    if not was or not will or was == will:
        if new_data_set:
            raise ProjectError(
                f"--new-data-set is for a version trained on another data set than version "
                f"{current.version} ('{alias}'), and version {wanted.version} uses the same "
                "or records none; roll back without the flag"
            )
        return None
    described = wanted.tags.get("data_set", will)
    if not new_data_set:
        raise ProjectError(
            f"refused: version {wanted.version} was trained on another data set ({described}) "
            f"than version {current.version} ('{alias}': {current.tags.get('data_set', was)}); "
            "callers of the served model would get another schema. If that is what you want, "
            "run `mlops rollback --new-data-set` (written on the version); nothing was moved"
        )
    return (
        f"{datetime.now(UTC).isoformat(timespec='seconds')}: rolled back to this data set "
        f"from version {current.version} ('{alias}': {current.tags.get('data_set', was)})"
    )


def run(params: Params, options: Options) -> int:
    # MLflow is imported when a rollback runs, so `--help` answers at once.
    from ..integrations.registry import registry_errors

    with registry_errors():
        return restore(params, options)


def restore(params: Params, options: Options) -> int:
    from ..integrations import mlflow as tracking
    from ..integrations.registry import Registry, RegistryError

    wanted = options.version.strip()
    if wanted and not wanted.isdigit():
        raise RegistryError(f"--version must be a version number, got {wanted!r}")
    registry = Registry(params)
    name = params.registry.model_name
    alias, previous = params.registry.alias, params.registry.previous_alias
    aliases = registry.aliases()
    current = aliases.get(alias)
    if current is None:
        raise RegistryError(
            f"no version of '{name}' holds '{alias}' in {tracking.redact(registry.uri)}; "
            "nothing to roll back (run `mlops deploy` first)"
        )
    if not wanted:
        wanted = aliases.get(previous, "")
        if not wanted:
            raise RegistryError(
                f"no version of '{name}' holds '{previous}'; pass --version N to choose one"
            )
    elif registry.version(str(int(wanted))) is None:
        known = ", ".join(str(v.version) for v in registry.versions()) or "none"
        raise RegistryError(
            f"version {wanted} of '{name}' does not exist (versions: {known}); "
            "pass one of them to --version"
        )
    wanted = str(int(wanted))
    print(
        f"rollback: before: '{alias}' -> version {current}; '{previous}' -> "
        f"{'version ' + aliases[previous] if previous in aliases else 'none'}"
    )
    if wanted == current:
        print(f"rollback: version {wanted} already holds '{alias}'; nothing changed")
        return 0
    note = crossing(
        registry.version(current),
        registry.version(wanted),
        alias,
        options.new_data_set,
    )
    if note:
        registry.tag(wanted, NEW_DATA_SET_TAG, note)
        print(f"rollback: --new-data-set: {note}")
    registry.move(alias, wanted)
    print(f"rollback: after: '{alias}' -> version {wanted}; '{previous}' -> version {current}")
    from ..integrations import kserve

    print(f"rollback: {kserve.write(params, registry, alias)}")
    return 0
