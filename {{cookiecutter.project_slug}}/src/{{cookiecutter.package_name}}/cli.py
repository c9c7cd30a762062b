"""The project's one command line: the pipeline stages and the tools around them.

DVC calls the stage commands (see dvc.yaml); people and CI call the same
commands. Each command lives in its own module, imported only when that command
runs, so `--help` and light commands never pay for pandas, MLflow or GX.

A command module defines `run(params, args) -> int | None` and may define
`add_arguments(parser)`; register it in STAGES or TOOLS below.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from .errors import ProjectError
from .params import DEFAULT_PARAMS_FILE, load_params

# The pipeline's stages, in order: each is a module of stages/ (and a stage of dvc.yaml).
STAGES: dict[str, str] = {
    "ingest": "load the data source and resolve the feature columns",
    "validate": "check the data against the GX suite; exit 1 and report what failed",
    "split": "hold out a seeded test set",
    "train": "fit the model and save it (MLflow format) for DVC",
    "evaluate": "score the model on the test set; write metrics.json and plots; "
    "record the MLflow run",
}
# The tools around them: each is a module of commands/ named after the command.
TOOLS: dict[str, str] = {
    "check": "check that dvc.yaml, params.yaml, the CLI and the data suites agree",
    "monitor": "check a batch of new data for drift and the model's metrics on it "
    "(exit 0 ok, 1 drift/degradation, 2 error, 3 invalid batch)",
    "make-batch": "write a demo batch from the test split, optionally shifted",
    "pull": "fetch from the DVC remote the outputs of stages the branch did not change",
    "report": "compare the results with the baseline revision; write report.md",
    "gate": "exit 1 if a metric regressed beyond its tolerance against the baseline",
    "comment": "post report.md on the pull request as one comment, updated in place",
    "deploy": "release the model dvc.lock records: gate, register, stage and test it over "
    "HTTP, then move the production alias",
    "rollback": "move the production alias back to the previous or a given version",
    "smoke-test": "post the model's input example to a serving URL and check it",
    "suggest-suite": "draft a GX suite from reference data (your own data set) for review",
    "data-docs": "render GX Data Docs of the suite and the data as local HTML",
    "stack": "start or stop a local MLflow server (and S3 store) for the release flow",
    "kfp": "the pipeline on Kubeflow Pipelines: compile its IR YAML, run it locally, or submit it",
}
COMMANDS: dict[str, str] = {**STAGES, **TOOLS}
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


def module_name(command: str) -> str:
    """The module (relative to this package) that implements a command."""
    folder = "stages" if command in STAGES else "commands"
    return f"{folder}.{command.replace('-', '_')}"


def _module(name: str):
    return importlib.import_module(f".{module_name(name)}", __package__)


def _declares_options(name: str) -> bool:
    """Whether a command's module defines `add_arguments`, read from its source.

    A command without options (the stages but validate) is then not imported to
    build the parser, so its `--help` never pays for pandas, MLflow or GX.
    """
    spec = importlib.util.find_spec(f".{module_name(name)}", __package__)
    if spec is None or spec.origin is None:
        return True
    with open(spec.origin, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    return any(
        isinstance(node, ast.FunctionDef) and node.name == "add_arguments" for node in tree.body
    )


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Pipeline stages and tools of this project. "
        "Run the whole pipeline with `dvc repro`.",
    )
    params_help = "path to params.yaml (default: %(default)s)"
    parser.add_argument("--params", default=DEFAULT_PARAMS_FILE, help=params_help)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = next((arg for arg in argv if arg in COMMANDS), None)
    for name, summary in COMMANDS.items():
        sub = commands.add_parser(name, help=summary, description=summary)
        # --params may come after the command name too; SUPPRESS keeps the one given first.
        sub.add_argument(
            "--params",
            default=argparse.SUPPRESS,
            help=f"path to params.yaml (default: {DEFAULT_PARAMS_FILE})",
        )
        # Only the chosen command's module is imported to describe its options.
        if name == chosen and _declares_options(name):
            add_arguments = getattr(_module(name), "add_arguments", None)
            if add_arguments is not None:
                add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    root = Path(args.params or DEFAULT_PARAMS_FILE).resolve().parent
    try:
        params = load_params(args.params)
        status = _module(args.command).run(params, args)
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
