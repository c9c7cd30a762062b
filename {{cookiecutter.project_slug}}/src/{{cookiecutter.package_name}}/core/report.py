"""The pull-request report as a pure function: two snapshots (and the validation result and
MLflow run) in, Markdown out, its first line the gate's verdict.

`mlops report` gathers the inputs from git and disk and writes the file; `mlops gate`
judges with the same `verdict()`, so the report and the gate cannot disagree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .anchor import Anchor, against_anchor, anchor_failure, anchor_section
from .charts import change_chart, values_chart
from .dotted import flatten
from .gates import (
    BELOW_FLOOR,
    CHANGED,
    IMPROVED,
    MEETS_FLOOR,
    MISSING,
    NEW,
    NO_FLOOR,
    REGRESSED,
    REMOVED,
    UNCHANGED,
    WITHIN_TOLERANCE,
    WORSE_UNGATED,
    Comparison,
    MetricRule,
    RuleChange,
    compare,
    failures,
    floors_of,
    format_value,
    judge_floors,
)
from .markdown import cell, code, table
from .noise import (
    WITHIN_NOISE,
    Noise,
    Override,
    noise_section,
    override_section,
    refine,
    slices_section,
)
from .noise import judge as judge_noise
from .suite_diff import SuiteDiff


@dataclass(frozen=True)
class Snapshot:
    """One side of the comparison; a file that does not exist there is None.

    `outputs` holds the md5 of each output that side's dvc.lock records.
    """

    label: str
    commit: str | None
    metrics: dict[str, float] | None
    params: dict[str, Any] | None
    outputs: dict[str, str] = field(default_factory=dict)
    dirty: bool = False


@dataclass(frozen=True)
class Trusted:
    """The branch's model scored by the baseline's code (`mlops report --workspace`).

    `own_metrics` are the branch's own `evaluate`; the branch Snapshot then holds the
    trusted figures, which the gate judges."""

    label: str
    commit: str | None
    own_metrics: dict[str, float] | None
    test_sets_differ: bool = False
    on_branch_rows: bool = False


VERDICT_BADGES = {
    IMPROVED: "🟢 improved",
    UNCHANGED: "⚪ unchanged",
    WITHIN_TOLERANCE: "🟡 within tolerance",
    WITHIN_NOISE: "🟡 within noise",
    REGRESSED: "🔴 regressed",
    WORSE_UNGATED: "🟠 worse (not gated)",
    CHANGED: "🔵 changed (no rule)",
    NEW: "🆕 new",
    REMOVED: "⚫ removed",
    MISSING: "🔴 missing (gated)",
    MEETS_FLOOR: "🟢 meets its floor",
    BELOW_FLOOR: "🔴 below its floor",
    NO_FLOOR: "⚪ no floor (not judged)",
}
MAX_FAILURE_ROWS = 20


@dataclass(frozen=True)
class Inputs:
    """Everything the report says, gathered beforehand so rendering is pure."""

    baseline: Snapshot
    branch: Snapshot
    rules: dict[str, MetricRule]
    data_path: str
    validation: dict[str, Any] | None = None
    mlflow_run: dict[str, Any] | None = None
    mlflow_store: str | None = None
    commits_ahead: int | None = None
    images: tuple[str, ...] = ()
    # How the branch's `gates` differ from the baseline's; `rules` are the baseline's
    # plus the branch's rule for a metric the baseline has none for.
    rule_changes: tuple[RuleChange, ...] = ()
    # Why the branch's own `gates` judge it (the baseline has none), or None.
    rules_fallback: str | None = None
    # The branch's data suite against the baseline's, when the suite file exists.
    suite_diff: SuiteDiff | None = None
    # Did `dvc repro` here give what the checked-out commit records? None: not checked;
    # False: the commit has no dvc.lock. The differences are (stage, path) pairs.
    committed_lock: bool | None = None
    lock_differences: tuple[tuple[str, str], ...] = ()
    metrics_reproduced: bool | None = None
    # The metrics file as params.yaml names it.
    metrics_file: str = "metrics.json"
    # Whether `evaluate` ran in this workspace: its MLflow run record (paths.train_run)
    # is there and is not the committed one. The one notion of "computed here": only
    # metrics computed here and equal to the committed ones are "reproduced", and only
    # a run recorded here lives on this machine.
    evaluated_here: bool = False
    in_ci: bool = False
    # The workspace holds new results computed from the checkout, for a pull request to
    # commit (the retrain workflow): the checkout's own results are not what they are.
    retrained: bool = False
    # The MLflow store is a local SQLite file.
    mlflow_local: bool = False
    # How the branch's data set differs from the baseline's (target, suite, features);
    # non-empty: the branch is judged by the floors of the baseline's `gates`.
    data_set_changes: tuple[str, ...] = ()
    # The baseline's own `gates` (None: it has none): a new data set's floors come only
    # from them, never from a rule the branch adds.
    baseline_rules: dict[str, MetricRule] | None = None
    # Set when the baseline's code scored the branch's model (see Trusted).
    trusted: Trusted | None = None
    # Files of the code that splits, scores, judges or reports (and the workflows) the
    # branch changes; and how its `split:` differs (key, old, new).
    judging_changes: tuple[str, ...] = ()
    split_changes: tuple[tuple[str, Any, Any], ...] = ()
    # The second comparison, against a baseline that does not move with every merge
    # (core/anchor.py); None when there is none. `anchor_note`: why the registry's
    # production version is not the anchor although a tracking server is configured.
    anchor: Anchor | None = None
    anchor_note: str | None = None
    # Paired intervals (or the branch's own), slices, and a pull request's override label.
    noise: Noise | None = None
    override: Override | None = None


def anchor_comparisons(inputs: Inputs) -> list[Comparison]:
    """The branch against the anchor; empty on a new data set or without an anchor.

    A metric whose anchor value is the baseline's own is left out: the comparison with
    the baseline already judged it, with its paired interval where there is one, and a
    second, point-only reading of the same numbers would fail changes that are noise."""
    if inputs.anchor is None or inputs.data_set_changes or inputs.baseline.metrics is None:
        return []
    baseline = inputs.baseline.metrics
    anchor = replace(
        inputs.anchor,
        metrics={
            name: value
            for name, value in inputs.anchor.metrics.items()
            if baseline.get(name) != value
        },
    )
    return against_anchor(anchor, inputs.branch.metrics or {}, inputs.rules)


def comparisons(inputs: Inputs) -> list[Comparison] | None:
    """Every metric judged by its rule; None when the baseline has no metrics at all."""
    if inputs.baseline.metrics is None:
        return None
    if inputs.data_set_changes:
        return judge_floors(
            inputs.baseline.metrics, inputs.branch.metrics or {}, inputs.baseline_rules or {}
        )
    return refine(
        compare(inputs.baseline.metrics, inputs.branch.metrics or {}, inputs.rules), inputs.noise
    )


def rules_note(inputs: Inputs) -> str:
    """Whose rules judged the branch, when that needs saying: the branch changes them, or
    the baseline has none."""
    if inputs.rules_fallback:
        return f"judged by the branch's own rules: {inputs.rules_fallback}"
    count = len(inputs.rule_changes)
    if count:
        return (
            f"judged by `{inputs.baseline.label}`'s rules; the branch changes {count} "
            f"rule{'s' * (count != 1)}"
        )
    return ""


def verdict(inputs: Inputs) -> tuple[bool, str]:
    """Whether the gate passes, and the report's first line saying so."""
    passed, line = _verdict(inputs)
    note = rules_note(inputs)
    if note and comparisons(inputs) is not None:
        line += f" ({note})"
    return judge_noise(
        passed,
        line,
        inputs.noise,
        inputs.rules,
        inputs.override,
        overridable=reproduction_failure(inputs) is None,
    )


def reproduction_failure(inputs: Inputs) -> str | None:
    """Why CI's own numbers cannot back the branch's committed ones, or None.

    Only in CI, and not for a retrain: a workspace on a laptop may hold results not
    committed yet, and a retrain's results are new, for its pull request to commit."""
    if inputs.retrained or not (inputs.in_ci and inputs.committed_lock):
        return None
    name = code(inputs.metrics_file)
    if not inputs.evaluated_here:
        return (
            f"{name} was not recomputed in this run (`evaluate` was skipped); run "
            "`dvc repro --force --single-item validate evaluate` before the report"
        )
    if inputs.metrics_reproduced is False:
        return f"the committed {name} is not what CI recomputed from the branch's model"
    return None


def _verdict(inputs: Inputs) -> tuple[bool, str]:
    judged = comparisons(inputs)
    base = f"`{inputs.baseline.label}`"
    unproven = reproduction_failure(inputs)
    if unproven:
        return False, f"## ❌ Quality gate failed: {unproven}"
    if judged is None:
        return True, (
            f"## ✅ Quality gate passed: {base} has no metrics yet, so there is nothing to "
            "compare with (first pull request)"
        )
    if inputs.data_set_changes:
        return _new_data_set_verdict(inputs, judged)
    failed = failures(judged)
    if failed:
        reasons = []
        for kind, why in (
            (REGRESSED, "regressed beyond tolerance"),
            (BELOW_FLOOR, "below the floor of its rule"),
            (MISSING, "missing"),
        ):
            names = ", ".join(f"`{c.name}`" for c in failed if c.verdict == kind)
            if names:
                reasons.append(f"{names} {why}")
        return False, f"## ❌ Quality gate failed: {' and '.join(reasons)} against {base}"
    slid = anchor_failure(inputs.anchor, anchor_comparisons(inputs))
    if slid:
        return False, f"## ❌ Quality gate failed: {slid}"
    if all(c.verdict == UNCHANGED for c in judged):
        return True, f"## ✅ Quality gate passed: every metric is identical to {base}"
    improved = sum(c.verdict == IMPROVED for c in judged)
    summary = f"{improved} of {len(judged)} metrics improved" if improved else "nothing improved"
    return True, (
        f"## ✅ Quality gate passed against {base}: no metric regressed beyond its "
        f"tolerance; {summary}"
    )


def _new_data_set_verdict(inputs: Inputs, judged: list[Comparison]) -> tuple[bool, str]:
    base = f"`{inputs.baseline.label}`"
    changed = "; ".join(inputs.data_set_changes)
    if not floors_of(inputs.baseline_rules or {}):
        return False, (
            f"## ❌ Quality gate failed: new data set ({changed}), and {base}'s `gates` set "
            f"no floor (`min`/`max`) to judge it by; add floors on {base} first"
        )
    failed = failures(judged)
    if failed:
        names = ", ".join(f"`{c.name}`" for c in failed)
        return False, (
            f"## ❌ Quality gate failed on a new data set: {names} below the floors of "
            f"{base}'s `gates` ({changed})"
        )
    met = sum(c.verdict == MEETS_FLOOR for c in judged)
    return True, (
        f"## ✅ Quality gate passed on a new data set: {met} metrics meet the floors of "
        f"{base}'s `gates` ({changed})"
    )


def data_set_section(inputs: Inputs) -> list[str]:
    """What makes the branch's data set a new one, and how that changes the judging."""
    if not inputs.data_set_changes or inputs.baseline.metrics is None:
        return []
    base = inputs.baseline.label
    return [
        "### New data set",
        "",
        "> [!IMPORTANT]",
        f"> This branch trains on another data set than `{base}`, so its metrics cannot be "
        f"compared with `{base}`'s. Each gated metric is judged by its absolute floor "
        f"(`min`, or `max` when lower is better) in `gates` at `{base}`; a floor the branch "
        "adds or edits applies only once merged. The first deploy of this model needs "
        "`mlops deploy --new-data-set`."
        + (
            f" `{base}`'s code scored the model on the branch's own test rows, since "
            f"`{base}`'s test rows lack the new data set's columns."
            if inputs.trusted is not None and inputs.trusted.on_branch_rows
            else ""
        ),
        "",
        *[f"- {change}" for change in inputs.data_set_changes],
    ]


def _floors_table(inputs: Inputs, judged: list[Comparison]) -> list[str]:
    base = inputs.baseline.label
    rows = [
        [
            c.name,
            format_value(c.baseline),
            format_value(c.candidate),
            c.rule.describe_floor() if c.rule and c.rule.has_floor else "no floor",
            VERDICT_BADGES.get(c.verdict, c.verdict),
        ]
        for c in judged
    ]
    lines = [
        "### Metrics",
        "",
        f"`{base}`'s values were measured on the other data set and are shown for reference.",
        "",
        table(
            ["metric", f"{base} (other data)", "branch", f"floor at {base}", "verdict"],
            rows,
            ["---", "---:", "---:", "---", "---"],
        ),
    ]
    failed = failures(judged)
    if failed:
        lines += ["", "**Below the floor:**", ""]
        lines += [f"- {c.explain()}" for c in failed]
    return lines


_MISSING = object()


def value_code(value: Any) -> str:
    """A params.yaml value as inline code, in YAML's words (null, true) or as JSON."""
    if value is _MISSING:
        return "(absent)"
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True)
    else:
        text = str(value)
    return code(text)


def changed_params(old: dict | None, new: dict | None) -> list[tuple[str, Any, Any]]:
    """(key, old, new) for every key that differs; _MISSING marks a key on one side only."""
    before, after = flatten(old or {}), flatten(new or {})
    keys = sorted(set(before) | set(after))
    return [
        (key, before.get(key, _MISSING), after.get(key, _MISSING))
        for key in keys
        if before.get(key, _MISSING) != after.get(key, _MISSING)
    ]


def _short(commit: str | None) -> str:
    return f"`{commit[:8]}`" if commit else "no commit"


def _signed(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.2%}" if percent else f"{value:+.4f}"


def judging_section(inputs: Inputs) -> list[str]:
    """What the branch changes in how pull requests are judged: for the code owners."""
    if not (inputs.judging_changes or inputs.split_changes):
        return []
    lines = [
        "> [!IMPORTANT]",
        "> This branch changes how pull requests are split, scored, judged or reported; "
        "code owners review it (`.github/CODEOWNERS`), and it applies from the merge on:",
    ]
    lines += [f"> - {code(path)}" for path in inputs.judging_changes]
    lines += [
        f"> - {code(key)} in params.yaml: {value_code(old)} → {value_code(new)} "
        "(which rows are test rows)"
        for key, old, new in inputs.split_changes
    ]
    return lines


def _trusted_rows(
    scored: dict[str, float], own: dict[str, float]
) -> tuple[list[list[str]], list[str]]:
    """A table row per metric (judged, the branch's own, difference), and the metrics
    on which the two evaluations differ."""
    rows, different = [], []
    for name in sorted(set(scored) | set(own), key=lambda n: (n not in scored, n)):
        mine, theirs = scored.get(name), own.get(name)
        delta = None if mine is None or theirs is None else theirs - mine
        if delta != 0:
            different.append(name)
        rows.append(
            [
                name,
                format_value(mine) if mine is not None else "n/a",
                format_value(theirs) if theirs is not None else "n/a",
                _signed(delta),
            ]
        )
    return rows, different


def trusted_section(inputs: Inputs) -> list[str]:
    """Who scored the figures the gate judges, on which rows, against the branch's own."""
    trusted = inputs.trusted
    if trusted is None:
        return []
    base = cell(trusted.label)
    rows_text = (
        f"the branch's test rows (a new data set cannot be scored on `{base}`'s)"
        if trusted.on_branch_rows
        else f"`{base}`'s test rows"
    )
    lines = [
        "### Trusted evaluation",
        "",
        f"The gate judges the branch's model as scored by `{base}`'s evaluation code "
        f"({_short(trusted.commit)}) on {rows_text}; the model is read as data and no code "
        "of the branch runs. The branch's own `evaluate` is beside it.",
    ]
    if trusted.test_sets_differ and not trusted.on_branch_rows:
        lines += [
            "",
            f"> [!WARNING]\n> The test sets differ: the branch's split or data give other test "
            f"rows than `{base}`'s, so the comparison uses `{base}`'s test rows.",
        ]
    rows, different = _trusted_rows(inputs.branch.metrics or {}, trusted.own_metrics or {})
    lines += [
        "",
        table(
            ["metric", f"by `{base}`'s code (judged)", "by the branch's code", "difference"],
            rows,
            ["---", "---:", "---:", "---:"],
        ),
    ]
    if different:
        why = (
            "its test rows differ"
            if trusted.test_sets_differ
            else "its evaluation code differs from the baseline's"
        )
        lines += [
            "",
            f"> [!WARNING]\n> The branch's own evaluation differs on {len(different)} "
            f"metric{'s' * (len(different) != 1)} "
            f"({', '.join(f'`{n}`' for n in different)}): {why}.",
        ]
    return lines


def metrics_section(inputs: Inputs) -> list[str]:
    judged = comparisons(inputs)
    base = inputs.baseline.label
    if judged is not None and inputs.data_set_changes:
        return _floors_table(inputs, judged)
    added = {change.name for change in inputs.rule_changes if change.old is None}
    lines = ["### Metrics", ""]
    if judged is None:
        rows = [
            [name, format_value(value), _rule_text(inputs.rules.get(name))]
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
            c.name,
            format_value(c.baseline),
            format_value(c.candidate),
            _signed(c.delta),
            _signed(c.relative_delta, percent=True),
            VERDICT_BADGES.get(c.verdict, c.verdict),
            _rule_text(c.rule) + _origin(c, added, inputs),
        ]
        for c in judged
    ]
    lines.append(
        table(
            ["metric", base, "branch", "change", "relative", "verdict", "rule"],
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


def _origin(comparison: Comparison, added: set[str], inputs: Inputs) -> str:
    """Whose params.yaml a rule, and its floor, come from."""
    if comparison.name in added:
        return " (the branch's new rule)"
    if comparison.rule is None or not comparison.rule.has_floor:
        return ""
    if inputs.rules_fallback:
        return " (floor from this branch's params.yaml)"
    return f" (floor from `{inputs.baseline.label}`'s params.yaml)"


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
        return "*(absent)*" if value is _MISSING else value_code(value)

    rows = [[code(key), shown(old), shown(new)] for key, old, new in changes]
    lines.append(table(["parameter", inputs.baseline.label, "branch"], rows))
    if any(key.startswith("gates.") for key, _, _ in changes):
        lines += [
            "",
            "> [!WARNING]",
            "> This branch changes the gate rules (`gates` in params.yaml); "
            + (
                "they judge it, since the baseline has none."
                if inputs.rules_fallback
                else f"it is judged by `{inputs.baseline.label}`'s rules (see above)."
            ),
        ]
    return lines


RULE_BADGES = {
    "added": "🆕 added: judges this branch",
    "removed": "⚠️ removed",
    "loosened": "⚠️ loosened",
    "tightened": "tightened",
    "changed": "changed",
}
WEAKER_RULES = ("removed", "loosened")


def rules_section(inputs: Inputs) -> list[str]:
    """The gate rules the branch edits, old -> new; empty when it edits none."""
    base = inputs.baseline.label
    if inputs.rules_fallback:
        return [
            "### Gate rules",
            "",
            "> [!WARNING]",
            f"> This branch is judged by its own `gates` in params.yaml: {inputs.rules_fallback}.",
        ]
    if not inputs.rule_changes:
        return []
    count = len(inputs.rule_changes)
    weaker = [c for c in inputs.rule_changes if c.kind in WEAKER_RULES]
    lines = [
        "### Gate rules changed by this branch",
        "",
        "> [!WARNING]" if weaker else "> [!NOTE]",
        f"> This branch changes {count} rule{'s' * (count != 1)} of `gates` in params.yaml"
        + (
            f", and {len(weaker)} of them would let a worse model pass once merged"
            if weaker
            else ""
        )
        + f". It is judged by `{base}`'s rules (a new metric by the branch's own); "
        "the changes apply from the merge on.",
        "",
    ]
    rows = [
        [
            code(change.name),
            _rule_text(change.old) if change.old else "*(no rule)*",
            _rule_text(change.new) if change.new else "*(no rule)*",
            RULE_BADGES.get(change.kind, change.kind),
        ]
        for change in inputs.rule_changes
    ]
    lines.append(table(["metric", base, "branch", "change"], rows))
    return lines


EXPECTATION_BADGES = {
    "removed": "⚠️ removed",
    "loosened": "⚠️ loosened",
    "added": "🆕 added",
    "tightened": "tightened",
    "changed": "changed",
}
EXPECTATION_ORDER = ("removed", "loosened", "added", "tightened", "changed")


def suite_section(inputs: Inputs) -> list[str]:
    """The expectations the branch's data suite adds, removes, loosens or tightens."""
    diff = inputs.suite_diff
    base = inputs.baseline.label
    if diff is None:
        return []
    path = code(diff.path)
    if diff.baseline_missing:
        return [
            "### Data expectations changed by this branch",
            "",
            "> [!WARNING]",
            f"> The data suite {path} is new: `{base}` has no {code(diff.baseline_path)}, "
            "so review every expectation in it.",
        ]
    if not diff.changes and diff.path == diff.baseline_path:
        return []
    lines = ["### Data expectations changed by this branch", ""]
    if diff.path != diff.baseline_path:
        lines += [
            f"`validate` uses {path} on this branch and {code(diff.baseline_path)} on "
            f"`{base}` (validation.suite changed); compared expectation by expectation.",
            "",
        ]
    weaker = diff.weaker
    counts = ", ".join(
        f"{sum(c.kind == kind for c in diff.changes)} {kind}"
        for kind in EXPECTATION_ORDER
        if any(c.kind == kind for c in diff.changes)
    )
    if weaker:
        lines += [
            "> [!WARNING]",
            f"> {len(weaker)} expectation{'s' * (len(weaker) != 1)} of {path} accept data "
            f"that `{base}`'s suite refuses (removed or loosened): {counts}. `validate` on "
            "this branch checks with the branch's suite.",
            "",
        ]
    elif diff.changes:
        lines += [f"{path} against `{base}`: {counts}.", ""]
    else:
        lines += ["The expectations are the same.", ""]
    ordered = sorted(diff.changes, key=lambda c: EXPECTATION_ORDER.index(c.kind))
    rows = [
        [
            EXPECTATION_BADGES.get(change.kind, change.kind),
            code(change.type.removeprefix("expect_")),
            code(change.column) if change.column else "*(table)*",
            "; ".join(change.details)[:200],
        ]
        for change in ordered[:MAX_FAILURE_ROWS]
    ]
    if rows:
        lines.append(table(["change", "expectation", "column", "what changed"], rows))
    if len(ordered) > MAX_FAILURE_ROWS:
        lines.append(f"\n… and {len(ordered) - MAX_FAILURE_ROWS} more.")
    return lines


def data_section(inputs: Inputs) -> list[str]:
    lines = ["### Data", ""]
    old = inputs.baseline.outputs.get(inputs.data_path)
    new = inputs.branch.outputs.get(inputs.data_path)
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
                value_code(failure.get("expectation")),
                value_code(failure.get("column")),
                failure.get("expected", ""),
                failure.get("observed", ""),
                ", ".join(map(str, failure.get("unexpected_values") or []))[:120],
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
    # In CI the workspace holds what CI itself wrote: the reproduction line judges that.
    if inputs.branch.dirty and not inputs.in_ci:
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
    reproduction = _reproduction_line(inputs)
    if reproduction:
        lines.append(reproduction)
    lines.append(_mlflow_line(inputs))
    return lines


def _reproduction_line(inputs: Inputs) -> str | None:
    """Whether the workspace's results are what the branch's dvc.lock records."""
    where, whose = ("in CI", "CI's") if inputs.in_ci else ("here", "this workspace's")
    if inputs.retrained:
        return (
            f"- Retrained {where}: these results are new, computed by `dvc repro` from "
            f"{_short(inputs.branch.commit)} with the latest data; the pull request commits "
            "them, so there is nothing committed yet to reproduce."
        )
    differences: dict[str, list[str]] = {}
    for stage, path in inputs.lock_differences:
        differences.setdefault(stage, [])
        if path:
            differences[stage].append(code(path))
    named = "; ".join(
        f"stage `{stage}`: {', '.join(paths)}" if paths else f"stage `{stage}` (on one side only)"
        for stage, paths in differences.items()
    )
    if inputs.committed_lock is False:
        return (
            f"- Reproduction: the branch commits no `dvc.lock`, so {whose} results are "
            "checked against nothing; commit `dvc.lock` and the metrics."
        )
    if not inputs.committed_lock:
        return None
    if inputs.in_ci and not inputs.evaluated_here:
        return f"- Not reproduced: {reproduction_failure(inputs)}."
    if not differences and inputs.metrics_reproduced and not inputs.evaluated_here:
        # Nothing ran here (evaluate records a new MLflow run each time it runs): the
        # outputs match dvc.lock, but they are the committed ones, not reproduced ones.
        return (
            f"- Not reproduced {where}: the outputs match the branch's committed `dvc.lock`, "
            "but they are the committed ones (no stage ran after the commit); "
            "`dvc repro --force` reruns every stage to check them."
        )
    if not differences and inputs.metrics_reproduced:
        return (
            f"- Reproduced: `dvc repro` {where} gave the branch's committed `dvc.lock` and "
            "metrics exactly."
        )
    if inputs.metrics_reproduced:
        return (
            f"- Reproduced the metrics, not every byte: `dvc repro` {where} gave the committed "
            f"metrics exactly, but `dvc.lock` differs in {named} (another CPU's floating "
            "point can do that)."
        )
    return (
        f"- Not reproduced: {whose} results differ from the branch's commit in "
        f"{named or 'the metrics'}; run `dvc repro` and commit `dvc.lock` and the "
        "metrics, or find what is not deterministic."
    )


def _mlflow_line(inputs: Inputs) -> str:
    """Where the branch's MLflow training run is, and whether it outlives the CI runner."""
    run = inputs.mlflow_run or {}
    if not run.get("run_id"):
        return "- MLflow: no training run recorded in this workspace."
    described = (
        f"- MLflow run {code(run['run_id'])} (experiment {code(run.get('experiment', '?'))})"
    )
    if inputs.mlflow_local and inputs.in_ci:
        where = "this CI runner" if inputs.evaluated_here else "the machine that ran it"
        return (
            f"{described} lives only on {where}: the MLflow store is a local SQLite "
            "file; set `MLFLOW_TRACKING_URI` to a shared server to keep runs."
        )
    store = f" in {code(inputs.mlflow_store)}" if inputs.mlflow_store else ""
    return f"{described}{store}."


def _anchor_lines(inputs: Inputs) -> list[str]:
    if inputs.data_set_changes or inputs.baseline.metrics is None:
        return []
    lines = anchor_section(
        inputs.anchor, anchor_comparisons(inputs), inputs.baseline.label, VERDICT_BADGES
    )
    if inputs.anchor_note:
        lines += ["", f"The registry's production version is not the anchor: {inputs.anchor_note}."]
    return lines


def render(inputs: Inputs) -> str:
    """The whole report; its first line is the verdict."""
    _, first_line = verdict(inputs)
    sections = [
        [first_line],
        override_section(inputs.override),
        judging_section(inputs),
        trusted_section(inputs),
        data_set_section(inputs),
        rules_section(inputs),
        suite_section(inputs),
        metrics_section(inputs),
        _anchor_lines(inputs),
        noise_section(inputs.noise, inputs.rules, inputs.baseline.label),
        slices_section(inputs.noise, inputs.rules),
        [f"![{Path(image).stem}]({image})" for image in inputs.images],
        params_section(inputs),
        data_section(inputs),
        provenance_section(inputs),
        [
            "<sub>Made by `mlops report`; the gate rules are `gates` in params.yaml "
            + ("on this branch" if inputs.rules_fallback else f"at `{inputs.baseline.label}`")
            + ".</sub>"
        ],
    ]
    return "\n\n".join("\n".join(section) for section in sections if section) + "\n"
