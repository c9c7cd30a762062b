"""report: the pull-request report, the branch's results against the baseline revision.

It gathers the inputs (the baseline's files from git, the branch's from disk), renders
them with `core.report.render`, writes report.md and the PNG charts, and appends the
report to the GitHub job summary. `mlops gate` judges with the same inputs.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from ..core.anchor import Anchor, Release, best_releases, from_release
from ..core.charts import draw_pngs
from ..core.dataset import DataSet, differences
from ..core.dotted import numbers
from ..core.gates import NEW, Comparison, MetricRule, judging_rules, rule_changes
from ..core.report import Inputs, Snapshot, Trusted, changed_params, comparisons, render
from ..core.suite_diff import SuiteDiff, diff_suites
from ..errors import DataError, ProjectError
from ..integrations import git, store
from ..integrations.dvc import (
    LOCK_FILE,
    lock_differences,
    lock_outputs,
    require_in_sync,
    require_recorded,
)
from ..integrations.github import (
    PullRequest,
    append_step_summary,
    event_labels,
    in_actions,
    pull_request_head,
    who_labeled,
    write_outputs,
)
from ..io import (
    atomic_path,
    file_md5,
    read_features,
    read_metrics,
    read_optional_json,
    read_outcomes,
    read_table,
    shown,
    write_text,
)
from ..params import DEFAULT_PARAMS_FILE, Params, load_params, read_gates

# How a report or gate refusing a stale workspace ends: the results on disk are not
# what this commit's code, params and data give, so judging them would judge nothing.
STALE_FIX = (
    "The report and the gate judge only results that match this commit: run `dvc repro` "
    "(and commit dvc.lock and metrics.json), then run this command again"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--baseline",
        help="git revision to compare with (default: report.baseline in params.yaml)",
    )
    parser.add_argument(
        "--output", type=Path, help="markdown file to write (default: paths.report)"
    )
    parser.add_argument(
        "--retrained",
        action="store_true",
        help="the workspace holds new results this run computed from the checkout, for a pull "
        "request to commit (the retrain workflow): nothing committed to check them against",
    )
    add_workspace_argument(parser)


@dataclass(frozen=True)
class Options:
    baseline: str | None = None
    output: Path | None = None
    workspace: Path | None = None
    retrained: bool = False


def add_workspace_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace",
        type=Path,
        help="judge the pull request checked out in this folder with this checkout's code "
        "(a worktree of the baseline): its model is scored on this checkout's test rows",
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
    require_recorded(params.root, params.paths.metrics, lock_outputs(lock))
    commit, changed = git.git_state(params.root)
    return Snapshot(
        label=label,
        commit=commit,
        metrics=metrics,
        params=params.raw,
        outputs=lock_outputs(lock),
        dirty=bool(changed),
    )


def baseline_gates(base: Snapshot) -> dict[str, MetricRule] | None:
    """The `gates:` committed at the baseline, checked as params.yaml's own; None when its
    params.yaml has no `gates` (then the branch's rules judge it, and the report says so)."""
    if not isinstance(base.params, dict) or "gates" not in base.params:
        return None
    return read_gates(base.params, f"{DEFAULT_PARAMS_FILE} at {base.label}")


def _suite_file(settings: Any) -> str | None:
    """The suite file a params document validates with, relative to the project root."""
    validation = settings.get("validation") if isinstance(settings, dict) else None
    paths = settings.get("paths") if isinstance(settings, dict) else None
    suite = validation.get("suite") if isinstance(validation, dict) else None
    folder = paths.get("gx") if isinstance(paths, dict) else None
    if not (isinstance(suite, str) and isinstance(folder, str)):
        return None
    return (Path(folder) / "expectations" / f"{suite}.json").as_posix()


def suite_changes(params: Params, base: Snapshot) -> SuiteDiff | None:
    """The branch's data suite against the one the baseline validated with; None when
    the branch has no suite file (`validate` names that) or the baseline has no commit."""
    path = shown(params.suite_path, params.root)
    if not params.suite_path.is_file() or base.commit is None:
        return None
    branch_text = params.suite_path.read_text(encoding="utf-8")
    branch_suite = _parse(branch_text, path, "the branch")
    baseline_path = _suite_file(base.params) or path
    text = git.show(params.root, base.commit, baseline_path)
    if text is None:
        return SuiteDiff(path, baseline_path, (), baseline_missing=True)
    if baseline_path == path and text == branch_text:
        return SuiteDiff(path, baseline_path, ())
    old = _parse(text, baseline_path, base.label)
    changes = diff_suites(old, branch_suite, f"{baseline_path} at {base.label}", path)
    return SuiteDiff(path, baseline_path, tuple(changes))


def _features_at(params: Params, commit: str | None, settings: Any) -> Any:
    """features.json as committed at the baseline (where its params.yaml puts it)."""
    paths = settings.get("paths") if isinstance(settings, dict) else None
    relative = paths.get("features") if isinstance(paths, dict) else None
    if commit is None or not isinstance(relative, str):
        return None
    text = git.show(params.root, commit, relative)
    return None if text is None else _parse(text, relative, commit[:8])


def data_set_changes(params: Params, base: Snapshot) -> tuple[str, ...]:
    """How the branch's data set (task, target, suite, features) differs from the
    baseline's; empty when it is the same data set (new rows included) or the
    baseline has no params.yaml to compare with."""
    if not isinstance(base.params, dict):
        return ()
    old = DataSet.from_documents(base.params, _features_at(params, base.commit, base.params))
    new = DataSet.from_documents(params.raw, read_optional_json(params.paths.features))
    return differences(old, new)


def judging_changes(root: Path, judging_root: Path, base: str | None, head: str | None):
    """The files that split, score, judge or report (as `judging_root`'s code reads its
    imports; see `mlops check`) and the workflows, that differ between the two commits."""
    from .check import judging_code

    if base is None or head is None:
        return ()
    watched = [*judging_code(judging_root), ".github/"]
    diff = git.git(root, "diff", "--name-only", base, head, "--", *watched)
    return tuple(line for line in diff.stdout.splitlines() if line.strip())


def split_changes(base: Snapshot, branch: Snapshot) -> tuple[tuple[str, Any, Any], ...]:
    """How `split:` (which rows are test rows) differs from the baseline's."""
    old = base.params.get("split") if isinstance(base.params, dict) else None
    new = branch.params.get("split") if isinstance(branch.params, dict) else None
    if old is None:
        return ()
    return tuple((f"split.{key}", before, after) for key, before, after in changed_params(old, new))


# How far back `main`'s history is read for the best release (commits that changed the
# metrics file, newest first).
RELEASES_READ = 50


def releases_on_main(params: Params, base: Snapshot) -> list[Release]:
    """The metrics each first-parent commit of the baseline committed, newest first, back
    to the first commit on another data set (whose metrics are not comparable).

    Every merge to `main` is a release (the deploy runs on it), so this history is the
    release record, the same on a fresh runner as here (the workflow checks out the whole
    history; a shallow clone gives the baseline alone)."""
    if base.commit is None or not isinstance(base.params, dict):
        return []
    # The baseline's own name for the file: a branch that renames it walks no other history.
    paths = base.params.get("paths")
    named = paths.get("metrics") if isinstance(paths, dict) else None
    metrics_file = named if isinstance(named, str) else shown(params.paths.metrics, params.root)
    listed = git.git(
        params.root,
        "log",
        "--first-parent",
        "--format=%H",
        f"-n{RELEASES_READ}",
        base.commit,
        "--",
        metrics_file,
    )
    data_set = DataSet.from_documents(base.params, _features_at(params, base.commit, base.params))
    releases = []
    for commit in listed.stdout.split():
        settings_text = git.show(params.root, commit, DEFAULT_PARAMS_FILE)
        metrics_text = git.show(params.root, commit, metrics_file)
        if settings_text is None or metrics_text is None:
            break
        try:
            settings = yaml.safe_load(settings_text)
            metrics = numbers(json.loads(metrics_text))
        except (yaml.YAMLError, json.JSONDecodeError):
            continue  # a commit with a broken file released nothing comparable
        if differences(
            data_set, DataSet.from_documents(settings, _features_at(params, commit, settings))
        ):
            break
        releases.append(Release(f"`{commit[:8]}`", metrics))
    return releases


def production_release(params: Params) -> tuple[Release | None, str | None]:
    """The version holding the `production` alias and the metrics tagged on it, when a
    tracking server is configured (`MLFLOW_TRACKING_URI`, not a local file store, which
    holds no team's releases); else (None, None). An unreachable server gives
    (None, why), and the repository's record is used instead."""
    if not os.environ.get(store.TRACKING_ENV) or store.is_local_store(store.tracking_uri(params)):
        return None, None
    from ..integrations.registry import Registry, metrics_from_tags

    try:
        registry = Registry(params)
        version = registry.holder(params.registry.alias)
    except ProjectError as error:
        return None, f"the registry was not usable ({error})"
    if version is None:
        return None, f"no version holds `{params.registry.alias}` in the registry"
    label = f"version {version.version} (`{params.registry.alias}`)"
    return Release(label, metrics_from_tags(dict(version.tags))), None


def release_anchor(
    params: Params, base: Snapshot, rules: dict[str, MetricRule]
) -> tuple[Anchor | None, str | None]:
    """The anchor (see core/anchor.py): production in the registry when one is reachable,
    else the best release on the baseline's history; and why the registry was not used."""
    production, why_not = production_release(params)
    if production is not None:
        anchor = from_release(production, rules, f"the model in production, {production.label}")
        if anchor is not None:
            return anchor, None
    return best_releases(releases_on_main(params, base), rules), why_not


def gather(params: Params, revision: str | None, judging_root: Path | None = None) -> Inputs:
    """Read both sides from git and disk; shared by `mlops report` and `mlops gate`.

    The branch is judged by the baseline's `gates` (a branch cannot loosen the rules
    it is judged by); a metric with no rule there is judged by the branch's rule.
    """
    base = at_revision(params, revision or params.report.baseline)
    if (params.root / "dvc.yaml").is_file():
        require_in_sync(params.root, STALE_FIX)
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
    committed = baseline_gates(base)
    rules = params.gates if committed is None else judging_rules(committed, params.gates)
    changed_data_set = data_set_changes(params, base)
    anchor, anchor_note = (
        (None, None)
        if changed_data_set or base.metrics is None
        else release_anchor(params, base, rules)
    )
    return Inputs(
        baseline=base,
        branch=branch,
        rules=rules,
        data_path=shown(params.paths.raw, params.root),
        validation=read_optional_json(params.paths.validation),
        mlflow_run=read_optional_json(params.paths.train_run),
        commits_ahead=ahead,
        rule_changes=() if committed is None else tuple(rule_changes(committed, params.gates)),
        rules_fallback=(
            f"`{base.label}` has no `gates` in {DEFAULT_PARAMS_FILE}" if committed is None else None
        ),
        suite_diff=suite_changes(params, base),
        **reproduction(params, branch),
        evaluated_here=evaluated_here(params),
        in_ci=in_actions(),
        mlflow_local=store.is_local_store(store.tracking_uri(params)),
        data_set_changes=changed_data_set,
        anchor=anchor,
        anchor_note=anchor_note,
        baseline_rules=committed,
        judging_changes=judging_changes(
            params.root, judging_root or params.root, base.commit, git.git_state(params.root)[0]
        ),
        split_changes=split_changes(base, branch),
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
        "metrics_file": metrics_file,
    }


def evaluated_here(params: Params) -> bool:
    """Whether `evaluate` ran in this workspace: it writes a new MLflow run record
    (paths.train_run) every time it runs, so a record unlike the committed one (or one
    without a commit to compare with) was written here."""
    record = params.paths.train_run
    if not record.is_file():
        return False
    committed = git.show(params.root, "HEAD", shown(record, params.root))
    return record.read_text(encoding="utf-8") != committed


def _mlflow_store(params: Params) -> str:
    uri = store.redact(store.tracking_uri(params))
    local = Path(uri.removeprefix("sqlite:///"))
    if uri.startswith("sqlite:///") and local.is_relative_to(params.root):
        return f"sqlite:///{local.relative_to(params.root).as_posix()} (this checkout's store)"
    return uri


def judged_inputs(params: Params, baseline: str | None, workspace: Path | None) -> Inputs:
    """What `report` and `gate` judge: this checkout's results, or with --workspace the
    pull request's results scored by this checkout's code (see `trusted_evaluation`)."""
    if workspace is None:
        inputs = gather(params, baseline)
        return replace(inputs, noise=own_noise(params), override=override_of(params))
    settings = Path(workspace) / DEFAULT_PARAMS_FILE
    if not settings.is_file():
        raise DataError(
            f"--workspace {workspace}: no {DEFAULT_PARAMS_FILE} there; pass the folder the "
            "pull request is checked out in"
        )
    branch = load_params(settings)
    commit, _ = git.git_state(params.root)
    inputs = gather(branch, baseline or commit or params.report.baseline, params.root)
    if commit is not None:
        # The baseline is this checkout's commit; name it as params.yaml does.
        inputs = replace(inputs, baseline=replace(inputs.baseline, label=params.report.baseline))
    return replace(trusted_evaluation(params, branch, inputs), override=override_of(params))


def override_of(params: Params, env: dict[str, str] | None = None):
    """The override label (report.override_label of the judging checkout) when the pull
    request carries it, with who applied it; None without the label or outside a PR."""
    from ..core.noise import Override

    env = dict(os.environ) if env is None else env
    label = params.report.override_label
    if label not in event_labels(env):
        return None
    try:
        return Override(label, who_labeled(PullRequest.from_env(env), label))
    except ProjectError as error:
        return Override(label, None, str(error))


def _slice_columns(params: Params, test: Any) -> dict[str, Any]:
    missing = [name for name in params.report.slices if name not in test.columns]
    if missing:
        raise DataError(
            f"params.yaml `report.slices` names {', '.join(map(repr, missing))}, not a column "
            f"of the test rows ({shown(params.paths.test, params.root)}); name columns it has"
        )
    return {name: test[name].to_numpy() for name in params.report.slices}


def own_noise(params: Params):
    """The branch's own intervals and slices from its outcomes file (no pairing here: the
    pull-request workflow pairs it with the baseline's); None without the file."""
    from ..core.noise import measure
    from ..core.outcomes import from_frame

    stored = read_outcomes(params.paths.outcomes)
    if stored is None or not params.paths.test.is_file():
        return None
    outcomes = from_frame(*stored)
    test = read_table(params.paths.test, "split")
    if len(test) != len(outcomes.keys):
        return None
    return measure(
        outcomes,
        None,
        unpaired="this workspace holds only its own outcomes; the pull-request workflow "
        "pairs them with the baseline's",
        columns=_slice_columns(params, test),
        bins=params.report.slice_bins,
        min_slice_rows=params.report.min_slice_rows,
    )


def trusted_evaluation(trusted: Params, branch: Params, inputs: Inputs) -> Inputs:
    """Score the branch's model with this checkout's code on this checkout's test rows.

    The model is read as data (`load_as_data`: skops, this checkout's trusted types); no
    file of the branch runs. A new data set (other target or features) cannot be scored on
    the baseline's rows, so it is scored, still by this code, on the branch's test rows.
    The branch's own evaluation stays beside it, and the gate judges these figures.
    """
    from ..core.features import model_inputs
    from ..core.metrics import score
    from ..core.noise import measure
    from ..core.outcomes import from_assessment, from_frame, row_keys
    from ..integrations.model_file import load_as_data

    rows = branch if inputs.data_set_changes else trusted
    test = read_table(rows.paths.test, "split")
    features = read_features(rows.paths.features)
    model = load_as_data(branch.paths.model)
    model_rows = model_inputs(test, features)
    truth = test[features.target]
    positive = rows.data.positive_class
    assessment = score(model, model_rows, truth, trusted.task, positive_class=positive)
    scores = assessment.scores
    outcomes = from_assessment(row_keys(model_rows), truth, assessment, trusted.task, positive)
    stored = None if rows is branch else read_outcomes(trusted.paths.outcomes)
    unpaired = None
    if rows is branch:
        unpaired = f"a new data set shares no rows with `{inputs.baseline.label}`"
    elif stored is None:
        unpaired = (
            f"`{inputs.baseline.label}` has no per-row outcomes "
            f"({shown(trusted.paths.outcomes, trusted.root)}): its pipeline predates them "
            "or was not reproduced"
        )
    noise = measure(
        outcomes,
        None if stored is None else from_frame(*stored),
        unpaired=unpaired,
        # main's slice columns name main's data; a new data set has other columns.
        columns={} if rows is branch else _slice_columns(trusted, test),
        bins=trusted.report.slice_bins,
        min_slice_rows=trusted.report.min_slice_rows,
    )
    differ = not branch.paths.test.is_file() or file_md5(branch.paths.test) != file_md5(
        trusted.paths.test
    )
    return replace(
        inputs,
        noise=noise,
        branch=replace(inputs.branch, metrics=scores),
        trusted=Trusted(
            label=inputs.baseline.label,
            commit=git.git_state(trusted.root)[0],
            own_metrics=inputs.branch.metrics,
            test_sets_differ=differ,
            on_branch_rows=rows is branch,
        ),
    )


def run(params: Params, options: Options) -> int:
    inputs = judged_inputs(params, options.baseline, options.workspace)
    if options.retrained:
        inputs = replace(inputs, retrained=True)
    output = Path(options.output or params.paths.report)
    judged = comparisons(inputs) or [
        Comparison(name, None, value, NEW, inputs.rules.get(name))
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
    # The workflow installs CML only when the report has charts for it to upload.
    write_outputs({"publish_images": str(params.report.publish_images).lower()})
    print(markdown.splitlines()[0].removeprefix("## "))
    print(
        f"report: wrote {shown(output, params.root)}, and {len(pngs)} PNG charts in "
        f"{shown(folder, params.root)}/"
    )
    return 0
