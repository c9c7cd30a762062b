"""One line, never a traceback: a corpus of bad inputs driven through one baked project.

Each case is a mistake a user can make (a data file, a params.yaml value, a flag, a bake
answer); each must exit non-zero, print no traceback, and name the thing to fix.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import TEMPLATE, bake, run

pytestmark = pytest.mark.slow


def _set(path: str, value):
    """A params.yaml edit: set the dotted key (created if absent)."""

    def edit(document: dict) -> None:
        *parents, key = path.split(".")
        node = document
        for part in parents:
            node = node.setdefault(part, {})
        node[key] = value

    return edit


def _drop(path: str):
    def edit(document: dict) -> None:
        *parents, key = path.split(".")
        node = document
        for part in parents:
            node = node[part]
        del node[key]

    return edit


# (id, params edit or None, files to write {name: text}, mlops arguments, pattern to find)
PARAMS_CASES = [
    ("unknown-top-key", _set("modle", {"type": "x"}), "train", r"unknown key `modle`"),
    ("unknown-nested-key", _set("model.typ", "ridge"), "train", r"unknown key `typ`"),
    ("bad-task", _set("task", "clustering"), "split", r"`task` is 'clustering'"),
    ("bad-model-type", _set("model.type", "svm"), "train", r"`model.type` is 'svm'"),
    ("test-size-one", _set("split.test_size", 1.5), "split", r"`split.test_size`"),
    ("test-size-text", _set("split.test_size", "a lot"), "split", r"`split.test_size`"),
    ("negative-seed", _set("split.seed", -1), "split", r"`split.seed`"),
    ("stratify-text", _set("split.stratify", "maybe"), "split", r"`split.stratify`"),
    ("empty-target", _set("data.target", ""), "ingest", r"`data.target`"),
    ("features-not-list", _set("data.numeric_features", "age"), "ingest", r"numeric_features"),
    (
        "one-feature-list",
        _set("data.numeric_features", ["mean radius"]),
        "ingest",
        r"numeric_features",
    ),
    ("missing-source", _drop("data.source"), "ingest", r"`data.source` is missing"),
    ("source-not-found", _set("data.source", "data/input/nope.csv"), "ingest", r"nope\.csv"),
    ("source-not-data", _set("data.source", "README.md"), "ingest", r"not a \.csv or \.parquet"),
    ("bad-suite-name", _set("validation.suite", "my suite.json"), "validate", r"validation.suite"),
    ("margin-negative", _set("validation.suggest.margin", -1), "suggest-suite", r"suggest.margin"),
    ("bad-alpha", _set("monitoring.alpha", 2), "monitor", r"`monitoring.alpha`"),
    ("bad-correction", _set("monitoring.correction", "holm"), "monitor", r"monitoring.correction"),
    ("bad-drift-share", _set("monitoring.drift_share", 0), "monitor", r"monitoring.drift_share"),
    ("one-psi-bin", _set("monitoring.psi_bins", 1), "monitor", r"monitoring.psi_bins"),
    ("bad-gate-direction", _set("gates.f1", {"direction": "up"}), "gate", r"gates.f1.direction"),
    ("gate-not-mapping", _set("gates.f1", 0.9), "gate", r"`gates.f1`"),
    ("negative-tolerance", _set("gates.f1.abs_tolerance", -1), "gate", r"abs_tolerance"),
    ("floor-text", _set("gates.f1.min", "high"), "gate", r"`gates.f1.min` must be a number"),
    ("floor-crossed", _set("gates.f1.max", 0.1), "gate", r"`gates.f1.min` is above its max"),
    ("bad-poster", _set("report.poster", "slack"), "report", r"`report.poster`"),
    ("bad-model-name", _set("registry.model_name", "a/b"), "deploy", r"registry.model_name"),
    ("reserved-alias", _set("registry.alias", "latest"), "rollback", r"`registry.alias`"),
    ("same-aliases", _set("registry.previous_alias", "production"), "deploy", r"previous_alias"),
    ("positive-class-list", _set("data.positive_class", [1]), "evaluate", r"positive_class"),
    (
        "hyperparameter-typo",
        _set("model.hyperparameters.logistic_regression", {"CC": 1}),
        "train",
        r"CC",
    ),
    ("keep-columns-text", _set("data.keep_columns", "id"), "ingest", r"data.keep_columns"),
]
# (id, files to write, mlops arguments, pattern)
COMMAND_CASES = [
    ("params-file-missing", {}, ["check", "--params", "nowhere.yaml"], r"nowhere\.yaml"),
    (
        "params-not-yaml",
        {"broken.yaml": "task: [classification\n"},
        ["split", "--params", "broken.yaml"],
        r"not valid YAML at line",
    ),
    (
        "params-a-list",
        {"list.yaml": "- task\n"},
        ["split", "--params", "list.yaml"],
        r"expected a mapping",
    ),
    ("unknown-command", {}, ["trian"], r"invalid choice: 'trian'"),
    ("rows-not-int", {}, ["make-batch", "--rows", "many"], r"--rows"),
    ("shift-not-number", {}, ["make-batch", "--shift-mean", "mean radius=abc"], r"abc"),
    ("shift-unknown-feature", {}, ["make-batch", "--shift-mean", "nope=1"], r"nope"),
    ("share-above-one", {}, ["make-batch", "--new-category-share", "3"], r"share|--new-category"),
    ("batch-missing", {}, ["monitor", "--batch", "missing.csv"], r"missing\.csv"),
    (
        "batch-not-data",
        {"notes.txt": "x"},
        ["monitor", "--batch", "notes.txt"],
        r"not a \.csv or \.parquet",
    ),
    (
        "batch-empty",
        {"empty.csv": "mean radius,target\n"},
        ["monitor", "--batch", "empty.csv"],
        r"no rows",
    ),
    (
        "batch-garbage-parquet",
        {"junk.parquet": "not parquet"},
        ["monitor", "--batch", "junk.parquet"],
        r"could not read it",
    ),
    (
        "batch-lacks-features",
        {"few.csv": "target\n1\n0\n"},
        ["monitor", "--batch", "few.csv"],
        r"few\.csv",
    ),
    ("suggest-data-missing", {}, ["suggest-suite", "--data", "gone.csv", "--force"], r"gone\.csv"),
    (
        "suggest-no-target",
        {"notarget.csv": "a,b\n1,2\n3,4\n"},
        ["suggest-suite", "--data", "notarget.csv", "--force"],
        r"target",
    ),
    (
        "suggest-one-class",
        {"oneclass.csv": "a,target\n1,1\n2,1\n3,1\n"},
        ["suggest-suite", "--data", "oneclass.csv", "--force"],
        r"class",
    ),
    ("suggest-exists", {}, ["suggest-suite"], r"--force"),
    ("report-unknown-baseline", {}, ["report", "--baseline", "no-such-branch"], r"no-such-branch"),
    ("smoke-test-bad-url", {}, ["smoke-test", "--url", "not a url"], r"url|URL"),
    ("rollback-version-text", {}, ["rollback", "--version", "three"], r"--version|three"),
    ("post-report-no-report", {}, ["post-report", "--report", "absent.md"], r"absent\.md"),
]
# Bake answers that the pre-generation hook refuses (cookiecutter itself refuses an
# unknown choice value before the hooks run; the template README says what it prints).
BAKE_CASES = [
    ("slug", {"project_slug": "Bad Slug", "package_name": "good_name"}, r"project_slug"),
    ("package-keyword", {"package_name": "class"}, r"package_name"),
    ("package-shadows", {"package_name": "mlflow"}, r"package_name"),
    ("email", {"author_email": "nobody"}, r"author_email"),
    ("cron", {"retrain_cron": "every monday"}, r"retrain_cron"),
    ("code-owner", {"code_owners": "ml-team"}, r"code_owners"),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory, project_env) -> Path:
    root = bake(tmp_path_factory.mktemp("bad-inputs"))
    project_env.install(root)
    project_env.run(["dvc", "repro"], cwd=root)
    return root


def command_message(stderr: str) -> list[str]:
    """The lines of an `mlops` error: stderr without argparse's usage block (its
    `usage:` line and their indented continuations), which precedes argparse's one line."""
    lines, in_usage = [], False
    for line in stderr.splitlines():
        in_usage = line.startswith("usage: ") or (in_usage and line[:1].isspace())
        if line.strip() and not in_usage:
            lines.append(line)
    return lines


def bake_message(stderr: str) -> list[str]:
    """The lines of a refused bake that name an answer: the hook's `  - ` items (its
    header and cookiecutter's two closing lines name none)."""
    return [line for line in stderr.splitlines() if line.startswith("  - ")]


def assert_one_clear_line(result, pattern: str, message=command_message) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    lines = message(result.stderr)
    assert len(lines) == 1, f"{len(lines)} lines of message, not one:\n{output}"
    assert re.search(pattern, lines[0]), f"{pattern!r} not in the message:\n{output}"


@pytest.mark.parametrize(
    ("edit", "command", "pattern"),
    [case[1:] for case in PARAMS_CASES],
    ids=[case[0] for case in PARAMS_CASES],
)
def test_a_bad_params_value_is_one_line(project, project_env, edit, command, pattern, request):
    document = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    document = copy.deepcopy(document)
    edit(document)
    name = f"params-{request.node.callspec.id}.yaml"
    (project / name).write_text(yaml.safe_dump(document), encoding="utf-8")
    result = project_env.run(["mlops", command, "--params", name], cwd=project, check=False)
    assert_one_clear_line(result, pattern)


@pytest.mark.parametrize(
    ("files", "arguments", "pattern"),
    [case[1:] for case in COMMAND_CASES],
    ids=[case[0] for case in COMMAND_CASES],
)
def test_a_bad_file_or_flag_is_one_line(project, project_env, files, arguments, pattern):
    for name, text in files.items():
        (project / name).write_text(text, encoding="utf-8")
    result = project_env.run(["mlops", *arguments], cwd=project, check=False)
    assert_one_clear_line(result, pattern)


@pytest.mark.parametrize(
    ("answers", "pattern"),
    [case[1:] for case in BAKE_CASES],
    ids=[case[0] for case in BAKE_CASES],
)
def test_a_refused_bake_is_the_hooks_message_without_a_traceback(tmp_path, answers, pattern):
    cookiecutter = Path(sys.executable).parent / "cookiecutter"
    arguments = [f"{key}={value}" for key, value in answers.items()]
    result = run(
        [cookiecutter, "--no-input", "-o", tmp_path, TEMPLATE, *arguments], tmp_path, check=False
    )
    assert_one_clear_line(result, pattern, bake_message)
    assert "The project was not generated" in result.stderr + result.stdout
    assert not any(tmp_path.iterdir())


def test_a_message_of_two_lines_is_not_one_clear_line():
    """The check itself: it counts the message's lines (argparse's usage block aside)."""
    failed = subprocess.CompletedProcess([], 1, "", "")
    usage = "usage: mlops make-batch [-h]\n                   [--rows ROWS]\n"
    failed.stderr = usage + "mlops make-batch: error: argument --rows: invalid int\n"
    assert_one_clear_line(failed, r"--rows")
    for stderr in ("error: one\nerror: two\n", "error: it failed\n  because of --rows\n", ""):
        failed.stderr = stderr
        with pytest.raises(AssertionError, match="lines of message, not one"):
            assert_one_clear_line(failed, r"--rows")
    failed.stderr = "  - project_slug 'x' is bad\n  - package_name 'y' is bad\n"
    with pytest.raises(AssertionError, match="2 lines of message"):
        assert_one_clear_line(failed, r"project_slug", bake_message)


def test_the_corpus_holds_at_least_forty_bad_inputs():
    assert len(PARAMS_CASES) + len(COMMAND_CASES) + len(BAKE_CASES) >= 40
