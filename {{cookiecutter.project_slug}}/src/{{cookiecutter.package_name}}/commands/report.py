"""report: the pull-request report, the branch's results against the baseline revision.

It gathers the inputs (the baseline's files from git, the branch's from disk), renders
them with `core.report.render`, writes report.md and the PNG charts, and appends the
report to the GitHub job summary. `mlops gate` judges with the same inputs.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from ..core.charts import draw_pngs
from ..core.dotted import numbers
from ..core.gates import NEW, Comparison
from ..core.report import Inputs, Snapshot, comparisons, render
from ..errors import DataError
from ..integrations import git
from ..integrations.dvc import LOCK_FILE, lock_differences, lock_outputs
from ..integrations.github import append_step_summary, in_actions, pull_request_head
from ..io import atomic_path, read_metrics, read_optional_json, shown, write_text
from ..params import DEFAULT_PARAMS_FILE, Params


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--baseline",
        help="git revision to compare with (default: report.baseline in params.yaml)",
    )
    parser.add_argument(
        "--output", type=Path, help="markdown file to write (default: paths.report)"
    )


def _parse(text: str, relative: str, where: str) -> Any:
    try:
        return json.loads(text) if relative.endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise git.GitError(f"{relative} at {where} cannot be parsed ({error})") from None


def at_revision(params: Params, revision: str) -> Snapshot:
    """metrics.json, params.yaml and dvc.lock as committed at `revision`."""
    name, commit = git.resolve(params.root, revision)
    documents = {}
    for relative in (shown(params.paths.metrics, params.root), DEFAULT_PARAMS_FILE, LOCK_FILE):
        text = git.show(params.root, commit, relative)
        documents[relative] = None if text is None else _parse(text, relative, name)
    metrics, settings, lock = documents.values()
    return Snapshot(
        label=name,
        commit=commit,
        metrics=None if metrics is None else numbers(metrics),
        params=settings,
        outputs=lock_outputs(lock),
    )


def in_workspace(params: Params, label: str = "branch") -> Snapshot:
    """The files on disk, as `dvc repro` left them."""
    try:
        metrics = read_metrics(params.paths.metrics, hint="run `dvc repro` before the report")
    except DataError as error:
        raise git.GitError(str(error)) from None
    lock_file = params.root / LOCK_FILE
    lock = yaml.safe_load(lock_file.read_text(encoding="utf-8")) if lock_file.is_file() else None
    commit, changed = git.git_state(params.root)
    return Snapshot(
        label=label,
        commit=commit,
        metrics=metrics,
        params=params.raw,
        outputs=lock_outputs(lock),
        dirty=bool(changed),
    )


def gather(params: Params, revision: str | None) -> Inputs:
    """Read both sides from git and disk; shared by `mlops report` and `mlops gate`."""
    base = at_revision(params, revision or params.report.baseline)
    branch = in_workspace(params)
    # In a pull_request workflow the checkout is GitHub's merge commit; show the PR's head.
    head = pull_request_head()
    if head and branch.commit:
        branch = replace(branch, commit=head)
    ahead = (
        git.commits_between(params.root, base.commit, branch.commit)
        if base.commit and branch.commit
        else None
    )
    return Inputs(
        baseline=base,
        branch=branch,
        rules=params.gates,
        data_path=shown(params.paths.raw, params.root),
        validation=read_optional_json(params.paths.validation),
        mlflow_run=read_optional_json(params.paths.train_run),
        commits_ahead=ahead,
        **reproduction(params, branch),
        in_ci=in_actions(),
        **where_the_run_lives(params),
    )


def reproduction(params: Params, branch: Snapshot) -> dict[str, Any]:
    """How the workspace's dvc.lock and metrics compare with the checked-out commit's."""
    root = params.root
    if branch.commit is None:
        return {}
    committed = git.show(root, "HEAD", LOCK_FILE)
    if committed is None:
        return {"committed_lock": False}
    lock_file = root / LOCK_FILE
    current = yaml.safe_load(lock_file.read_text(encoding="utf-8")) if lock_file.is_file() else None
    metrics_file = shown(params.paths.metrics, root)
    metrics_text = git.show(root, "HEAD", metrics_file)
    committed_metrics = (
        None if metrics_text is None else numbers(_parse(metrics_text, metrics_file, "HEAD"))
    )
    return {
        "committed_lock": True,
        "lock_differences": tuple(lock_differences(_parse(committed, LOCK_FILE, "HEAD"), current)),
        "metrics_reproduced": committed_metrics is not None and committed_metrics == branch.metrics,
    }


def where_the_run_lives(params: Params) -> dict[str, bool]:
    """Whether the MLflow store is a local SQLite file, and whether the run record
    (paths.train_run) was written here rather than checked out."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or params.mlflow.tracking_uri
    record = params.paths.train_run
    committed = git.show(params.root, "HEAD", shown(record, params.root))
    here = record.read_text(encoding="utf-8") if record.is_file() else None
    return {"mlflow_local": uri.startswith("sqlite:"), "mlflow_run_new": here != committed}


def _mlflow_store(params: Params) -> str:
    from ..integrations import mlflow as tracking  # imports mlflow: paid only here

    uri = tracking.redact(tracking.tracking_uri(params))
    local = Path(uri.removeprefix("sqlite:///"))
    if uri.startswith("sqlite:///") and local.is_relative_to(params.root):
        return f"sqlite:///{local.relative_to(params.root).as_posix()} (this checkout's store)"
    return uri


def run(params: Params, args: argparse.Namespace) -> int:
    inputs = gather(params, getattr(args, "baseline", None))
    output = Path(getattr(args, "output", None) or params.paths.report)
    judged = comparisons(inputs) or [
        Comparison(name, None, value, NEW, params.gates.get(name))
        for name, value in (inputs.branch.metrics or {}).items()
    ]
    pngs = draw_pngs(judged, inputs.baseline.label)
    folder = params.paths.report_plots
    with atomic_path(folder) as staged:
        staged.mkdir()
        for name, content in pngs.items():
            (staged / name).write_bytes(content)
    images: tuple[str, ...] = ()
    if params.report.publish_images:
        images = tuple(os.path.relpath(folder / name, output.resolve().parent) for name in pngs)
    inputs = replace(inputs, images=images, mlflow_store=_mlflow_store(params))
    markdown = render(inputs)
    write_text(output, markdown)
    append_step_summary(markdown)
    print(markdown.splitlines()[0].removeprefix("## "))
    print(
        f"report: wrote {shown(output, params.root)}, and {len(pngs)} PNG charts in "
        f"{shown(folder, params.root)}/"
    )
    return 0
