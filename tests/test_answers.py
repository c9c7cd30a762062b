"""Bad answers stop the bake with one clear message each, before any file is written."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
from cookiecutter.exceptions import FailedHookException

from .conftest import TEMPLATE, bake


def load_hook(name: str):
    spec = importlib.util.spec_from_file_location(name, TEMPLATE / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pre_gen = load_hook("pre_gen_project")

GOOD = {
    "project_name": "My ML Project",
    "project_slug": "my-ml-project",
    "package_name": "my_ml_project",
    "author_name": "Ada",
    "author_email": "ada@example.com",
    "description": "A model",
    "python_version": "3.12",
    "task": "classification",
    "license": "MIT",
    "retrain_cron": "0 6 * * 1",
    "report_poster": "cml",
    "code_owners": "@your-org/ml-reviewers",
    "orchestrator": "dvc",
    "storage": "local",
}

BAD_ANSWERS = [
    ({"project_slug": "My Project"}, "project_slug 'My Project' is not a valid directory name"),
    ({"project_slug": "-leading-dash"}, "project_slug '-leading-dash' is not a valid directory"),
    ({"project_slug": "trailing-"}, "project_slug 'trailing-' is not a valid directory name"),
    ({"package_name": "my-package"}, "package_name 'my-package' is not a valid Python identifier"),
    ({"package_name": "2fast"}, "package_name '2fast' is not a valid Python identifier"),
    ({"package_name": "class"}, "package_name 'class' is a Python keyword"),
    ({"package_name": "mlflow"}, "package_name 'mlflow' would shadow the module"),
    ({"package_name": "sklearn"}, "package_name 'sklearn' would shadow the module"),
    ({"package_name": "great_expectations"}, "package_name 'great_expectations' would shadow"),
    ({"package_name": "test"}, "package_name 'test' would shadow the module"),
    ({"package_name": "json"}, "package_name 'json' would shadow the module"),
    ({"author_email": "ada.example.com"}, "author_email 'ada.example.com' is not an email address"),
    ({"project_name": "  ", "project_slug": "x-model"}, "project_name is empty"),
    ({"retrain_cron": "0 6 * *"}, "retrain_cron '0 6 * *' has 4 fields, not 5"),
    ({"code_owners": "ml-team"}, "code_owners 'ml-team' names 'ml-team', which is not a GitHub"),
    ({"code_owners": " "}, "code_owners ' ' names no owner"),
]


@pytest.mark.parametrize(("answers", "message"), BAD_ANSWERS, ids=[m for _, m in BAD_ANSWERS])
def test_bad_answer_stops_the_bake_and_leaves_nothing(tmp_path, capfd, answers, message):
    output = tmp_path / "out"
    output.mkdir()
    with pytest.raises(FailedHookException):
        bake(output, **answers)
    assert list(output.iterdir()) == []
    stderr = capfd.readouterr().err
    assert message in stderr
    assert "The project was not generated" in stderr


def test_every_bad_answer_is_reported_at_once():
    errors = pre_gen.validate(
        {**GOOD, "package_name": "class", "author_email": "nope", "task": "clustering"}
    )
    assert len(errors) == 3


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("task", "clustering"),
        ("license", "GPL-3.0"),
        ("python_version", "3.9"),
        ("report_poster", "gitlab"),
        ("orchestrator", "airflow"),
        ("storage", "hdfs"),
    ],
)
def test_unknown_choice_is_named_with_the_accepted_values(key, value):
    errors = pre_gen.validate({**GOOD, key: value})
    assert len(errors) == 1
    assert f"{key} {value!r} is not a known choice: use one of" in errors[0]
    for accepted in pre_gen.CHOICES[key]:
        assert accepted in errors[0]


def test_a_name_that_gives_an_empty_slug_is_the_answer_named():
    errors = pre_gen.validate(
        {**GOOD, "project_name": "!!!", "project_slug": "", "package_name": ""}
    )
    assert errors == [
        "project_name '!!!' gives an empty project_slug (it has no letters or digits to make "
        "a directory name of): use a name with letters, e.g. 'Churn Model', or answer "
        "project_slug yourself."
    ]


def test_good_answers_pass():
    assert pre_gen.validate(GOOD) == []


def test_hook_choices_match_cookiecutter_json():
    choices = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    for key, allowed in pre_gen.CHOICES.items():
        assert sorted(allowed) == sorted(choices[key])


def test_unknown_choice_on_the_command_line_writes_nothing(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            "--output-dir",
            str(tmp_path),
            str(TEMPLATE),
            "task=clustering",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "clustering" in result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "cron",
    ["0 6 * * 1", "*/15 * * * *", "30 2 1,15 * MON-FRI", "0 0 * JAN,JUL sun", "5 4-8/2 * * 0"],
)
def test_good_retrain_schedules_pass(cron):
    assert pre_gen.validate({**GOOD, "retrain_cron": cron}) == []


@pytest.mark.parametrize(
    ("cron", "problem"),
    [
        ("", "has 0 fields, not 5"),
        ("0 6 * * 1 2026", "has 6 fields, not 5"),
        ("60 6 * * 1", "minute field '60': '60' is outside 0-59"),
        ("0 24 * * 1", "hour field '24': '24' is outside 0-23"),
        ("0 6 0 * 1", "day of month field '0': '0' is outside 1-31"),
        ("0 6 * 13 1", "month field '13': '13' is outside 1-12"),
        ("0 6 * * 7", "day of week field '7': '7' is outside 0-6"),
        ("0 6 * * FUN", "day of week field 'FUN': 'FUN' is outside 0-6"),
        ("*/0 6 * * 1", "minute field '*/0' has a step of 0"),
        ('0 6 * * 1"; rm -rf /', "has 8 fields, not 5"),
        ("0 6 * * 1;x", "day of week field '1;x' is not a cron field"),
        ("@weekly", "has 1 fields, not 5"),
    ],
)
def test_bad_retrain_schedule_is_named_with_an_example(cron, problem):
    errors = pre_gen.validate({**GOOD, "retrain_cron": cron})
    assert len(errors) == 1
    assert f"retrain_cron {cron!r} {problem}" in errors[0]
    assert "e.g. '0 6 * * 1'" in errors[0]


@pytest.mark.parametrize("owners", ["@ada", "@your-org/ml-reviewers", "@ada  @org/team_1 @b-c"])
def test_good_code_owners_pass(owners):
    assert pre_gen.validate({**GOOD, "code_owners": owners}) == []


@pytest.mark.parametrize(
    ("owners", "named"),
    [
        ("@ada ada@example.com", "'ada@example.com'"),
        ("@-ada", "'@-ada'"),
        ("@org/", "'@org/'"),
        ("@ada; rm -rf /", "'@ada;', 'rm', '-rf', '/'"),
        ("@" + "a" * 40, "'@" + "a" * 40 + "'"),
    ],
)
def test_bad_code_owners_are_named_with_an_example(owners, named):
    errors = pre_gen.validate({**GOOD, "code_owners": owners})
    assert len(errors) == 1
    assert f"code_owners {owners!r} names {named}, which is not a GitHub user or team" in errors[0]
    assert "e.g. '@ada @your-org/ml-reviewers'" in errors[0]


def test_code_owners_own_the_rules_a_pull_request_is_judged_by(tmp_path):
    project = bake(tmp_path, code_owners="@ada   @org/ml-reviewers")
    rules = [
        line.split()
        for line in (project / ".github" / "CODEOWNERS").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[:3] == [
        [pattern, "@ada", "@org/ml-reviewers"]
        for pattern in ("/params.yaml", "/gx/expectations/", "/.github/")
    ]
    # Then the judging code, one module a line (`mlops check` keeps the list complete).
    assert all(rule[1:] == ["@ada", "@org/ml-reviewers"] for rule in rules[3:])
    assert ["/src/my_ml_project/core/metrics.py", "@ada", "@org/ml-reviewers"] in rules


def test_an_old_answer_name_that_would_change_the_value_is_named_with_the_fix():
    answers = {**GOOD, "report_poster": "cml"}  # the default a dropped old answer gets
    problem = pre_gen.renamed_answer(answers, {"pr_reporter": "builtin", "task": "regression"})
    assert problem is not None and len(problem.splitlines()) == 1
    assert problem.startswith("error: the answer pr_reporter is now called report_poster")
    assert """`cruft update --variables-to-update '{"report_poster": "builtin"}'`""" in problem


@pytest.mark.parametrize(
    "recorded",
    [
        {"pr_reporter": "cml"},  # the default keeps the old value: nothing to do
        {"pr_reporter": "builtin", "report_poster": "cml"},  # answered under the new name
        {"report_poster": "cml"},
        {},
    ],
)
def test_an_old_answer_name_that_changes_nothing_passes(recorded):
    assert pre_gen.renamed_answer({**GOOD, "report_poster": "cml"}, recorded) is None
