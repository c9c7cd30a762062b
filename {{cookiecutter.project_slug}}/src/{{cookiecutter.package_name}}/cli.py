"""The project's one command line: the pipeline stages and the tools around them.

DVC calls the stage commands (see dvc.yaml); people and CI call the same
commands. Stage modules are imported only when their command runs, so
`--help` and light commands stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .errors import ProjectError
from .params import DEFAULT_PARAMS_FILE, load_params

STAGES = {
    "ingest": "load the data source and resolve the feature columns",
    "split": "hold out a seeded test set",
    "train": "fit the model, save it for DVC and record an MLflow run",
    "evaluate": "score the model on the test set; write metrics.json and plots",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Pipeline stages and tools of this project. "
        "Run the whole pipeline with `dvc repro`.",
    )
    parser.add_argument("--params", default=DEFAULT_PARAMS_FILE,
                        help="path to params.yaml (default: %(default)s)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, summary in STAGES.items():
        commands.add_parser(name, help=summary, description=summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        params = load_params(args.params)
        stage = importlib.import_module(f".stages.{args.command}", __package__)
        stage.run(params)
    except ProjectError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
