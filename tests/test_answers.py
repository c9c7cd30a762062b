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
    "pr_reporter": "cml",
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
        ("pr_reporter", "gitlab"),
    ],
)
def test_unknown_choice_is_named_with_the_accepted_values(key, value):
    errors = pre_gen.validate({**GOOD, key: value})
    assert len(errors) == 1
    assert f"{key} {value!r} is not a known choice: use one of" in errors[0]
    for accepted in pre_gen.CHOICES[key]:
        assert accepted in errors[0]


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
