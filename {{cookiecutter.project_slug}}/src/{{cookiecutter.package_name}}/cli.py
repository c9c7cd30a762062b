"""The project's one command line: the pipeline stages and the tools around them.

DVC calls the stage commands (see dvc.yaml); people and CI call the same
commands. The commands are declared in catalog.py, each with its module, which is
imported only when that command runs, so `--help` and light commands never pay for
pandas, MLflow or GX. Nothing in the package imports this module.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .catalog import COMMANDS, STAGES, load
from .errors import ProjectError
from .params import DEFAULT_PARAMS_FILE, load_params

# After a failed stage: DVC removed the stage's outputs before running it, and the
# stage moves new files into place only when it succeeds.
RESTORE_HINT = (
    " ({stage} wrote no new outputs; `dvc checkout` restores the last good ones that "
    "dvc.lock records)"
)


def _restore_hint(command: str) -> str:
    return RESTORE_HINT.format(stage=command) if command in STAGES else ""


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


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    try:
        params = load_params(args.params)
        status = load(args.command).run(params, args)
    except ProjectError as error:
        print(f"error: {error}{_restore_hint(args.command)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"error: {args.command} was interrupted{_restore_hint(args.command)}", file=sys.stderr
        )
        return 130
    return int(status or 0)
