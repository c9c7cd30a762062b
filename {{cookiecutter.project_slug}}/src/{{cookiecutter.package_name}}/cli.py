"""The project's one command line: the pipeline stages and the tools around them.

DVC calls the stage commands (see dvc.yaml); people and CI call the same
commands. The commands are declared in catalog.py, each with its module, which is
imported only when that command runs, so `--help` and light commands never pay for
pandas, MLflow or GX. Nothing in the package imports this module.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from types import ModuleType

import yaml

from .catalog import COMMANDS, STAGES, load
from .errors import ProjectError
from .params import DEFAULT_PARAMS_FILE, Params, load_params

# After a failed or interrupted stage: DVC removed the stage's outputs before running
# it, and the stage moves new files into place only when it succeeds. The last good
# outputs come back from git (`cache: false` outputs, committed) or from DVC's cache.
RESTORE_HINT = " ({stage} wrote no new outputs; {restore})"
PATH_REF = re.compile(r"\$\{paths\.(\w+)\}")
RESTORE_FALLBACK = (
    "`git checkout -- <file>` restores its committed `cache: false` outputs and "
    "`dvc checkout {stage}` its cached ones"
)


def restore_commands(stage: str, root: Path) -> str:
    """How to bring back the last good outputs of `stage`, read from dvc.yaml: the
    `cache: false` ones are files in git, the others are in DVC's cache."""
    try:
        pipeline = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))
        paths = yaml.safe_load((root / DEFAULT_PARAMS_FILE).read_text(encoding="utf-8"))["paths"]
        declared = pipeline["stages"][stage]
        outs = [out for kind in ("outs", "metrics", "plots") for out in declared.get(kind) or []]
    except (OSError, KeyError, TypeError, AttributeError, yaml.YAMLError):
        return RESTORE_FALLBACK.format(stage=stage)
    in_git: list[str] = []
    in_cache: list[str] = []
    for out in outs:
        name, options = (out, {}) if isinstance(out, str) else next(iter(out.items()))
        path = PATH_REF.sub(lambda match: str(paths.get(match.group(1), match.group(0))), name)
        (in_cache if (options or {}).get("cache", True) else in_git).append(path)
    commands = []
    if in_git:
        commands.append(f"`git checkout -- {' '.join(in_git)}`")
    if in_cache:
        commands.append(f"`dvc checkout {stage}`")
    verb = "restore" if len(commands) > 1 else "restores"
    return f"{' and '.join(commands)} {verb} the last good ones"


def _restore_hint(command: str, root: Path | None = None) -> str:
    if command not in STAGES:
        return ""
    return RESTORE_HINT.format(stage=command, restore=restore_commands(command, root or Path.cwd()))


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Pipeline stages and tools of this project. "
        "Run the whole pipeline with `dvc repro`.",
    )
    params_help = "path to params.yaml (default: %(default)s)"
    parser.add_argument("--params", default=DEFAULT_PARAMS_FILE, help=params_help)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = next((arg for arg in argv if arg in COMMANDS), None)
    for name, command in COMMANDS.items():
        sub = commands.add_parser(name, help=command.summary, description=command.summary)
        # --params may come after the command name too; SUPPRESS keeps the one given first.
        sub.add_argument(
            "--params",
            default=argparse.SUPPRESS,
            help=f"path to params.yaml (default: {DEFAULT_PARAMS_FILE})",
        )
        # Only the chosen command's module is imported to describe its options.
        if name == chosen and command.options:
            load(name).add_arguments(sub)
    return parser


# Arguments of the parser itself, not of any one command.
GLOBAL_ARGUMENTS = ("command", "params")


def options_of(module: ModuleType, args: argparse.Namespace) -> object:
    """The parsed arguments as the command's frozen `Options`: one field per argument.

    An argument without a field is a mistake in the command module, caught here
    rather than read later with a default that hides it.
    """
    given = {
        # A repeatable argument arrives as a list; the options hold it as a tuple.
        key: tuple(value) if isinstance(value, list) else value
        for key, value in vars(args).items()
        if key not in GLOBAL_ARGUMENTS
    }
    unknown = sorted(set(given) - {field.name for field in fields(module.Options)})
    if unknown:
        raise TypeError(f"{module.__name__}.Options has no field for {', '.join(unknown)}")
    return module.Options(**given)


def run_command(name: str, params: Params, args: argparse.Namespace) -> int | None:
    """Run a command: with its options when the catalog says it takes some."""
    module = load(name)
    if COMMANDS[name].options:
        return module.run(params, options_of(module, args))
    return module.run(params)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    root = Path(args.params or DEFAULT_PARAMS_FILE).resolve().parent
    try:
        params = load_params(args.params)
        status = run_command(args.command, params, args)
    except ProjectError as error:
        print(f"error: {error}{_restore_hint(args.command, root)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"error: {args.command} was interrupted{_restore_hint(args.command, root)}",
            file=sys.stderr,
        )
        return 130
    return int(status or 0)
