"""rollback: move the production alias back to the previous version, or to a given one.

No gate runs: a rollback is a person's decision to restore a version that was
released before. `previous` then names the version rolled back from, so a
second rollback undoes the first.
"""

from __future__ import annotations

import argparse

from ..params import Params


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--version",
        default="",
        metavar="N",
        help="the registry version to restore (default, or empty: the previous version)",
    )


def run(params: Params, args: argparse.Namespace) -> int:
    # MLflow is imported when a rollback runs, so `--help` answers at once.
    from ..integrations.registry import registry_errors

    with registry_errors():
        return restore(params, args)


def restore(params: Params, args: argparse.Namespace) -> int:
    from ..integrations import mlflow as tracking
    from ..integrations.registry import Registry, RegistryError

    wanted = (args.version or "").strip()
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
    registry.move(alias, wanted)
    print(f"rollback: after: '{alias}' -> version {wanted}; '{previous}' -> version {current}")
    from ..integrations import kserve

    print(f"rollback: {kserve.write(params, registry, alias)}")
    return 0
