from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.errors import ParamsError
from {{ cookiecutter.package_name }}.params import MODEL_TYPES, load_params

from .conftest import PROJECT_ROOT


def test_the_shipped_params_file_loads():
    params = load_params(PROJECT_ROOT / "params.yaml")
    assert params.model.type in MODEL_TYPES[params.task]
    assert params.paths.raw.is_relative_to(PROJECT_ROOT)
    assert 0 < params.split.test_size < 1


def test_paths_are_relative_to_the_params_file(write_params):
    path = write_params()
    params = load_params(path)
    assert params.paths.metrics == path.parent / "metrics.json"


def test_hyperparameters_of_the_chosen_model_only(write_params):
    params = load_params(write_params(task="regression", model={"type": "random_forest"}))
    assert "n_estimators" in params.model.hyperparameters
    assert "alpha" not in params.model.hyperparameters


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"model": {"type": "svm"}}, "`model.type` is 'svm', which is not known; use one of"),
        ({"task": "clustering"}, "`task` is 'clustering', which is not known"),
        ({"split": {"test_size": 1.5}}, "`split.test_size` must be a number between 0.0 and 1.0"),
        ({"split": {"seed": "abc"}}, "`split.seed` must be a non-negative integer"),
        ({"split": {"stratify": "yes"}}, "`split.stratify` must be true or false"),
        ({"data": {"target": ""}}, "`data.target` must be a non-empty string"),
        ({"data": {"numeric_features": ["a"]}}, "give both lists"),
        (
            {"data": {"numeric_features": ["a"], "categorical_features": ["a"]}},
            "list each column once",
        ),
        ({"mlflow": None}, "`mlflow.experiment` is missing"),
        ({"validation": None}, "`validation.suite` is missing"),
        (
            {"validation": {"suite": "my suite.json"}},
            "`validation.suite` is 'my suite.json', which cannot be a file name",
        ),
        (
            {"validation": {"suggest": {"margin": -0.1}}},
            "`validation.suggest.margin` must be a number at least 0.0 and below 10.0",
        ),
        (
            {"validation": {"suggest": {"row_count_margin": 1}}},
            "`validation.suggest.row_count_margin` must be a number at least 0.0 and below 1.0",
        ),
        (
            {"validation": {"suggest": {"max_categories": "many"}}},
            "`validation.suggest.max_categories` must be a non-negative integer",
        ),
    ],
)
def test_bad_values_name_the_key_and_the_fix(write_params, overrides, expected):
    with pytest.raises(ParamsError, match=None) as caught:
        load_params(write_params(**overrides))
    assert expected in str(caught.value)


def test_the_suite_file_lives_in_the_gx_store(write_params):
    params = load_params(write_params(validation={"suite": "customers"}))
    assert params.suite_path == params.root / "gx" / "expectations" / "customers.json"
    assert params.validation.suggest.margin == 0.1


def test_malformed_yaml_names_the_line(tmp_path: Path):
    path = tmp_path / "params.yaml"
    path.write_text("task: classification\ndata: [unclosed\n", encoding="utf-8")
    with pytest.raises(ParamsError, match=r"not valid YAML at line \d+"):
        load_params(path)


def test_missing_params_file_says_where_to_run(tmp_path: Path):
    with pytest.raises(ParamsError, match="file not found; run the command from the project root"):
        load_params(tmp_path / "params.yaml")
