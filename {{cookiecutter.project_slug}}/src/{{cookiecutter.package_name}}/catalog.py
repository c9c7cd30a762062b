"""Every `mlops` command, declared once: its name, summary, module and whether it takes options.

cli.py builds the parser from this table, `mlops check` matches dvc.yaml's commands
against it, and a Kubeflow step finds its stage's module here. It imports nothing of
the project: a command's module is imported by `load`, only when that command runs,
so `--help` and light commands never pay for pandas, MLflow or GX.

A command module defines `run(params) -> int | None`; when its entry says
`options=True` it defines instead `run(params, options)`, `add_arguments(parser)` and
`Options`, a frozen dataclass with one field per argument, which cli.py fills from the
parsed arguments (tests/test_layout.py checks that they agree).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    # The module, relative to the package: stages/ for a pipeline stage, commands/ otherwise.
    module: str
    options: bool = False


def _stage(name: str, summary: str, *, options: bool = False) -> Command:
    return Command(name, summary, f"stages.{name}", options)


def _tool(name: str, summary: str, *, options: bool = True) -> Command:
    return Command(name, summary, f"commands.{name.replace('-', '_')}", options)


def _by_name(*commands: Command) -> dict[str, Command]:
    return {command.name: command for command in commands}


# The pipeline's stages, in order: each is a module of stages/ (and a stage of dvc.yaml).
STAGES: dict[str, Command] = _by_name(
    _stage("ingest", "load the data source and resolve the feature columns"),
    _stage(
        "validate",
        "check the data against the GX suite; exit 1 and report what failed",
        options=True,
    ),
    _stage("split", "hold out a seeded test set"),
    _stage("train", "fit the model and save it (MLflow format) for DVC"),
    _stage(
        "evaluate",
        "score the model on the test set; write metrics.json and plots; record the MLflow run",
    ),
)
# The tools around them: each is a module of commands/ named after the command.
TOOLS: dict[str, Command] = _by_name(
    _tool("check", "check that dvc.yaml, params.yaml, the CLI and the data suites agree"),
    _tool(
        "monitor",
        "check a batch of new data for drift and the model's metrics on it "
        "(exit 0 ok, 1 drift/degradation, 2 error, 3 invalid batch)",
    ),
    _tool("make-batch", "write a demo batch from the test split, optionally shifted"),
    _tool("pull", "fetch from the DVC remote the outputs of stages the branch did not change"),
    _tool(
        "take-results",
        "copy a pull request's recomputed results, as files, into its checkout for judging",
    ),
    _tool("report", "compare the results with the baseline revision; write report.md"),
    _tool("gate", "exit 1 if a metric regressed beyond its tolerance against the baseline"),
    _tool("post-report", "post report.md on the pull request as one comment, updated in place"),
    _tool(
        "deploy",
        "release the model dvc.lock records: gate, register, stage and test it over "
        "HTTP, then move the production alias",
    ),
    _tool("rollback", "move the production alias back to the previous or a given version"),
    _tool("smoke-test", "post the model's input example to a serving URL and check it"),
    _tool("suggest-suite", "draft a GX suite from reference data (your own data set) for review"),
    _tool("data-docs", "render GX Data Docs of the suite and the data as local HTML"),
    _tool("stack", "start or stop a local MLflow server (and S3 store) for the release flow"),
    _tool(
        "kfp",
        "the pipeline on Kubeflow Pipelines: compile its IR YAML, run it locally, or submit it",
    ),
    _tool(
        "push-branch",
        "commit this run's changes to a branch, force-push it, update its open pull request",
    ),
    _tool(
        "template-check",
        "is the template in .cruft.json ahead, current, or out of reach from here (no error)",
    ),
)
COMMANDS: dict[str, Command] = {**STAGES, **TOOLS}
PACKAGE = __package__ or ""


def module_name(command: str) -> str:
    """The module (relative to the package) that implements a command."""
    return COMMANDS[command].module


def load(command: str) -> ModuleType:
    """The module of a command, imported now."""
    return importlib.import_module(f"{PACKAGE}.{module_name(command)}")
