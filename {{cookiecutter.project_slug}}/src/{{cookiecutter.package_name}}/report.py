"""report: the pull-request report, the branch's results against the baseline revision.

`render()` is a pure function from two snapshots (and the validation result and
MLflow run) to markdown whose first line is the gate's verdict; `run()` gathers
those inputs from git and disk, writes report.md and the PNG charts, and appends
the report to the GitHub job summary. `mlops gate` judges with the same
comparison (see pr_gate.py), so the report and the gate cannot disagree.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import baseline as git_baseline
from .charts import change_chart, values_chart, write_pngs
from .files import atomic_path
from .gate import (
    CHANGED,
    IMPROVED,
    MISSING,
    NEW,
    REGRESSED,
    REMOVED,
    UNCHANGED,
    WITHIN_TOLERANCE,
    WORSE_UNGATED,
    Comparison,
    MetricRule,
    compare,
    failures,
    format_value,
)
from .params import Params
from .workspace import lock_outputs

VERDICT_BADGES = {
    IMPROVED: "🟢 improved",
    UNCHANGED: "⚪ unchanged",
    WITHIN_TOLERANCE: "🟡 within tolerance",
    REGRESSED: "🔴 regressed",
    WORSE_UNGATED: "🟠 worse (not gated)",
    CHANGED: "🔵 changed (no rule)",
    NEW: "🆕 new",
    REMOVED: "⚫ removed",
    MISSING: "🔴 missing (gated)",
}
MAX_FAILURE_ROWS = 20


@dataclass(frozen=True)
class Inputs:
    """Everything the report says, gathered beforehand so rendering is pure."""

    baseline: git_baseline.Snapshot
    branch: git_baseline.Snapshot
    rules: dict[str, MetricRule]
    data_path: str
    validation: dict[str, Any] | None = None
    mlflow_run: dict[str, Any] | None = None
    mlflow_store: str | None = None
    commits_ahead: int | None = None
    images: tuple[str, ...] = ()


def comparisons(inputs: Inputs) -> list[Comparison] | None:
    """Every metric judged by its rule; None when the baseline has no metrics at all."""
    if inputs.baseline.metrics is None:
        return None
    return compare(inputs.baseline.metrics, inputs.branch.metrics or {}, inputs.rules)


def verdict(inputs: Inputs) -> tuple[bool, str]:
    """Whether the gate passes, and the report's first line saying so."""
    judged = comparisons(inputs)
    base = f"`{inputs.baseline.label}`"
    if judged is None:
        return True, (
            f"## ✅ Quality gate passed: {base} has no metrics yet, so there is nothing to "
            "compare with (first pull request)"
        )
    failed = failures(judged)
    if failed:
        reasons = []
        for kind, why in ((REGRESSED, "regressed beyond tolerance"), (MISSING, "missing")):
            names = ", ".join(f"`{c.name}`" for c in failed if c.verdict == kind)
            if names:
                reasons.append(f"{names} {why}")
        return False, f"## ❌ Quality gate failed: {' and '.join(reasons)} against {base}"
    if all(c.verdict == UNCHANGED for c in judged):
        return True, f"## ✅ Quality gate passed: every metric is identical to {base}"
    improved = sum(c.verdict == IMPROVED for c in judged)
    summary = f"{improved} of {len(judged)} metrics improved" if improved else "nothing improved"
    return True, (
        f"## ✅ Quality gate passed against {base}: no metric regressed beyond its "
        f"tolerance; {summary}"
    )


def cell(text: Any) -> str:
    """Text safe inside a markdown table cell."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def code(value: Any) -> str:
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True)
    else:
        text = str(value)
    return "`" + cell(text).replace("`", "'") + "`"


def table(header: list[str], rows: list[list[str]], align: list[str] | None = None) -> str:
    align = align or ["---"] * len(header)
    lines = [header, align, *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def flatten(document: Any, prefix: str = "") -> dict[str, Any]:
    """params.yaml as dotted keys (lists stay values), so a change names its exact key."""
    if isinstance(document, dict) and document:
        flat: dict[str, Any] = {}
        for key, value in document.items():
            flat.update(flatten(value, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): document} if prefix else {}


_MISSING = object()


def changed_params(old: dict | None, new: dict | None) -> list[tuple[str, Any, Any]]:
    """(key, old, new) for every key that differs; _MISSING marks a key on one side only."""
    before, after = flatten(old or {}), flatten(new or {})
    keys = sorted(set(before) | set(after))
    return [
        (key, before.get(key, _MISSING), after.get(key, _MISSING))
        for key in keys
        if before.get(key, _MISSING) != after.get(key, _MISSING)
    ]


def data_digest(lock: dict | None, data_path: str) -> str | None:
    """The md5 dvc.lock records for the ingested data file, if any."""
    return lock_outputs(lock).get(data_path)


def _short(commit: str | None) -> str:
    return f"`{commit[:8]}`" if commit else "no commit"


def _signed(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.2%}" if percent else f"{value:+.4f}"


def metrics_section(inputs: Inputs) -> list[str]:
    judged = comparisons(inputs)
    base = inputs.baseline.label
    lines = ["### Metrics", ""]
    if judged is None:
        rows = [
            [cell(name), format_value(value), cell(_rule_text(inputs.rules.get(name)))]
            for name, value in (inputs.branch.metrics or {}).items()
        ]
        lines += [
            f"`{base}` has no metrics file, so this branch sets the first baseline.",
            "",
            table(["metric", "branch", "rule"], rows, ["---", "---:", "---"]),
        ]
        return lines
    rows = [
        [
            cell(c.name),
            format_value(c.baseline),
            format_value(c.candidate),
            _signed(c.delta),
            _signed(c.relative_delta, percent=True),
            VERDICT_BADGES.get(c.verdict, c.verdict),
            cell(_rule_text(c.rule)),
        ]
        for c in judged
    ]
    lines.append(
        table(
            ["metric", cell(base), "branch", "change", "relative", "verdict", "rule"],
            rows,
            ["---", "---:", "---:", "---:", "---:", "---", "---"],
        )
    )
    failed = failures(judged)
    if failed:
        lines += ["", "**Regressions beyond tolerance:**", ""]
        lines += [f"- {c.explain()}" for c in failed]
    charts = [chart for chart in (change_chart(judged, base), values_chart(judged, base)) if chart]
    for chart in charts:
        lines += ["", chart]
    return lines


def _rule_text(rule: MetricRule | None) -> str:
    return rule.describe() if rule else "no rule in params.yaml gates"


def params_section(inputs: Inputs) -> list[str]:
    lines = ["### Parameters", ""]
    if inputs.baseline.params is None:
        return [*lines, f"`{inputs.baseline.label}` has no params.yaml."]
    changes = changed_params(inputs.baseline.params, inputs.branch.params)
    if not changes:
        return [*lines, f"No parameter differs from `{inputs.baseline.label}`."]

    def shown(value: Any) -> str:
        return "*(absent)*" if value is _MISSING else code(value)

    rows = [[code(key), shown(old), shown(new)] for key, old, new in changes]
    lines.append(table(["parameter", cell(inputs.baseline.label), "branch"], rows))
    if any(key.startswith("gates.") for key, _, _ in changes):
        lines += [
            "",
            "> [!WARNING]",
            "> This branch changes the gate rules (`gates` in params.yaml) it is judged by.",
        ]
    return lines


def data_section(inputs: Inputs) -> list[str]:
    lines = ["### Data", ""]
    old = data_digest(inputs.baseline.dvc_lock, inputs.data_path)
    new = data_digest(inputs.branch.dvc_lock, inputs.data_path)
    path = f"`{cell(inputs.data_path)}`"
    if new is None:
        lines.append(f"- {path}: no digest in the branch's dvc.lock (run `dvc repro`).")
    elif old is None:
        lines.append(f"- {path}: md5 `{new}`; `{inputs.baseline.label}` records no digest.")
    elif old == new:
        lines.append(f"- {path}: unchanged (md5 `{new}`).")
    else:
        lines.append(f"- {path}: **changed**, md5 `{old}` -> `{new}`.")
    lines.append(f"- {validation_summary(inputs.validation)}")
    failures_shown = (inputs.validation or {}).get("failures") or []
    if failures_shown:
        rows = [
            [
                code(failure.get("expectation")),
                code(failure.get("column")),
                cell(failure.get("expected", "")),
                cell(failure.get("observed", "")),
                cell(", ".join(map(str, failure.get("unexpected_values") or []))[:120]),
            ]
            for failure in failures_shown[:MAX_FAILURE_ROWS]
        ]
        lines += [
            "",
            table(["expectation", "column", "expected", "observed", "unexpected values"], rows),
        ]
        if len(failures_shown) > MAX_FAILURE_ROWS:
            lines.append(f"\n… and {len(failures_shown) - MAX_FAILURE_ROWS} more.")
    return lines


def validation_summary(validation: dict[str, Any] | None) -> str:
    if validation is None:
        return "Data validation: no validation result in this run."
    suite = code(validation.get("suite", "?"))
    evaluated, failed = validation.get("evaluated", 0), validation.get("failed", 0)
    if validation.get("success"):
        return f"Data validation ✅: suite {suite}, all {evaluated} expectations met."
    return f"Data validation ❌: suite {suite}, {failed} of {evaluated} expectations failed."


def provenance_section(inputs: Inputs) -> list[str]:
    branch = _short(inputs.branch.commit)
    if inputs.branch.dirty:
        branch += " with uncommitted changes (commit `dvc.lock` and the metrics)"
    ahead = (
        f", {inputs.commits_ahead} commit{'s' * (inputs.commits_ahead != 1)} ahead"
        if inputs.commits_ahead is not None
        else ""
    )
    lines = [
        "### Provenance",
        "",
        f"- Commits: branch {branch} against `{cell(inputs.baseline.label)}` "
        f"{_short(inputs.baseline.commit)}{ahead}.",
    ]
    run = inputs.mlflow_run or {}
    if run.get("run_id"):
        store = f" in {code(inputs.mlflow_store)}" if inputs.mlflow_store else ""
        lines.append(
            f"- MLflow run {code(run['run_id'])} (experiment {code(run.get('experiment', '?'))})"
            f"{store}."
        )
    else:
        lines.append("- MLflow: no training run recorded in this workspace.")
    return lines


def render(inputs: Inputs) -> str:
    """The whole report; its first line is the verdict."""
    _, first_line = verdict(inputs)
    sections = [
        [first_line],
        metrics_section(inputs),
        [f"![{Path(image).stem}]({image})" for image in inputs.images],
        params_section(inputs),
        data_section(inputs),
        provenance_section(inputs),
        ["<sub>Made by `mlops report`; the gate rules are `gates` in params.yaml.</sub>"],
    ]
    return "\n\n".join("\n".join(section) for section in sections if section) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--baseline",
        help="git revision to compare with (default: report.baseline in params.yaml)",
    )
    parser.add_argument(
        "--output", type=Path, help="markdown file to write (default: paths.report)"
    )


def gather(params: Params, revision: str | None) -> Inputs:
    """Read both sides from git and disk; shared by `mlops report` and `mlops gate`."""
    revision = revision or params.report.baseline
    base = git_baseline.at_revision(params, revision)
    branch = git_baseline.workspace(params)
    ahead = (
        git_baseline.commits_between(params, base.commit, branch.commit)
        if base.commit and branch.commit
        else None
    )
    return Inputs(
        baseline=base,
        branch=branch,
        rules=params.gates,
        data_path=params.paths.raw.relative_to(params.root).as_posix(),
        validation=_read_optional_json(params.paths.validation),
        mlflow_run=_read_optional_json(params.paths.train_run),
        commits_ahead=ahead,
    )


def _read_optional_json(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return document if isinstance(document, dict) else None


def _mlflow_store(params: Params) -> str:
    from . import tracking  # imports mlflow: paid only here

    uri = tracking.redact(tracking.tracking_uri(params))
    local = Path(uri.removeprefix("sqlite:///"))
    if uri.startswith("sqlite:///") and local.is_relative_to(params.root):
        return f"sqlite:///{local.relative_to(params.root).as_posix()} (this checkout's store)"
    return uri


def run(params: Params, args: argparse.Namespace) -> int:
    inputs = gather(params, getattr(args, "baseline", None))
    output = getattr(args, "output", None) or params.paths.report
    judged = comparisons(inputs) or [
        Comparison(name, None, value, NEW, params.gates.get(name))
        for name, value in (inputs.branch.metrics or {}).items()
    ]
    pngs = write_pngs(judged, params.paths.report_plots, inputs.baseline.label)
    images: tuple[str, ...] = ()
    if params.report.publish_images:
        images = tuple(os.path.relpath(png, Path(output).resolve().parent) for png in pngs)
    inputs = replace(inputs, images=images, mlflow_store=_mlflow_store(params))
    markdown = render(inputs)
    with atomic_path(Path(output)) as staged:
        staged.write_text(markdown, encoding="utf-8")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")
    print(markdown.splitlines()[0].removeprefix("## "))
    shown = os.path.relpath(output, params.root)
    charts = os.path.relpath(params.paths.report_plots, params.root)
    print(f"report: wrote {shown}, and {len(pngs)} PNG charts in {charts}/")
    return 0
