from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }}.errors import ParamsError
from {{ cookiecutter.package_name }}.params import CORRECTIONS, MODEL_TYPES, load_params

from .conftest import PROJECT_ROOT, TASKS


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
        ({"monitoring": None}, "`monitoring.drift_share` is missing"),
        ({"monitoring": {"alpha": 0}}, "`monitoring.alpha` must be a number between 0.0 and 1.0"),
        ({"monitoring": {"alpha": 1.5}}, "`monitoring.alpha` must be a number between"),
        ({"monitoring": {"alpha": True}}, "`monitoring.alpha` must be a number between"),
        ({"monitoring": {"correction": "holm"}}, "`monitoring.correction` is 'holm'"),
        ({"monitoring": {"psi_threshold": -0.1}}, "`monitoring.psi_threshold` must be a number"),
        ({"monitoring": {"psi_threshold": "high"}}, "`monitoring.psi_threshold` must be"),
        ({"monitoring": {"psi_bins": 1}}, "`monitoring.psi_bins` must be an integer >= 2"),
        ({"monitoring": {"psi_bins": 2.5}}, "`monitoring.psi_bins` must be an integer >= 2"),
        ({"monitoring": {"drift_share": 0}}, "`monitoring.drift_share` must be a share in (0, 1]"),
        ({"monitoring": {"drift_share": 1.2}}, "`monitoring.drift_share` must be a share"),
        ({"monitoring": {"drift_share": "all"}}, "`monitoring.drift_share` must be a share"),
        ({"monitoring": {"batch": ""}}, "`monitoring.batch` must be a non-empty string"),
        ({"paths": {"drift": None}}, "`paths.drift` must be a non-empty string"),
        (
            {"registry": {"model_name": "bad/name"}},
            "`registry.model_name` is 'bad/name', which is not a usable registry name",
        ),
        (
            {"registry": {"alias": "latest"}},
            "`registry.alias` is 'latest', which MLflow cannot use as an alias",
        ),
        ({"registry": {"previous_alias": "v2"}}, "`registry.previous_alias` is 'v2', which"),
        ({"registry": {"previous_alias": "production"}}, "equals registry.alias"),
        ({"registry": {"serve_timeout": 0}}, "`registry.serve_timeout` must be a number between"),
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


def test_monitoring_settings_are_typed(write_params):
    params = load_params(write_params(monitoring={"psi_bins": 5, "drift_share": 1}))
    assert params.monitoring.psi_bins == 5
    assert params.monitoring.drift_share == 1.0
    assert params.monitoring.batch.is_relative_to(params.root)
    assert params.monitoring.correction in CORRECTIONS


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


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"modle": {"type": "ridge"}}, "unknown key `modle` at the top level"),
        ({"model": {"typ": "random_forest"}}, "unknown key `typ` under `model`"),
        ({"data": {"targett": "y"}}, "unknown key `targett` under `data`"),
        ({"split": {"test_sise": 0.3}}, "unknown key `test_sise` under `split`"),
        (
            {"gates": {"f1": {"direction": "higher", "abs_tolerence": 0.1}}},
            "unknown key `abs_tolerence` under `gates.f1`",
        ),
        (
            {"validation": {"suggest": {"margins": 0.2}}},
            "unknown key `margins` under `validation.suggest`",
        ),
        (
            {"model": {"hyperparameters": {"random_forst": {"n_estimators": 5}}}},
            "unknown key `random_forst` under `model.hyperparameters`",
        ),
        ({"paths": {"metric": "m.json"}}, "unknown key `metric` under `paths`"),
    ],
)
def test_an_unknown_key_is_refused_with_the_closest_valid_one(write_params, overrides, expected):
    with pytest.raises(ParamsError) as caught:
        load_params(write_params(**overrides))
    message = str(caught.value)
    assert expected in message
    closest = {
        "modle": "model",
        "typ": "type",
        "targett": "target",
        "test_sise": "test_size",
        "abs_tolerence": "abs_tolerance",
        "margins": "margin",
        "random_forst": "random_forest",
        "metric": "metrics",
    }
    key = expected.split("`")[1]
    assert f"did you mean `{closest[key]}`?" in message
    assert "(line " in message


def test_an_unknown_key_with_nothing_close_lists_the_valid_keys(write_params):
    with pytest.raises(ParamsError, match=r"unknown key `zzz` under `report`.*baseline, poster"):
        load_params(write_params(report={"zzz": 1}))


def test_hyperparameter_names_are_free_form(write_params):
    params = load_params(
        write_params(
            TASKS["classification"],
            model={"hyperparameters": {"logistic_regression": {"anything": 1}}},
        )
    )
    assert params.model.hyperparameters["anything"] == 1


def test_every_command_and_check_refuse_an_unknown_key(write_params, capsys):
    from {{ cookiecutter.package_name }}.cli import main

    path = write_params(modle={"type": "ridge"})
    for command in ("check", "ingest", "report"):
        assert main(["--params", str(path), command]) == 2
        assert "unknown key `modle` at the top level" in capsys.readouterr().err


def test_the_positive_class_and_kept_columns_are_read(write_params):
    classification = TASKS["classification"]
    params = load_params(
        write_params(classification, data={"positive_class": "yes", "keep_columns": ["id"]})
    )
    assert params.data.positive_class == "yes"
    assert params.data.keep_columns == ("id",)
    assert load_params(write_params(classification)).data.positive_class is None
    with pytest.raises(
        ParamsError, match=r"`data\.positive_class` is 1 but the task is regression"
    ):
        load_params(write_params(task="regression", data={"positive_class": 1}))


def leaf_keys(node, prefix=""):
    for key, value in node.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            yield from leaf_keys(value, name)
        else:
            yield name


def test_the_schema_is_printed_from_the_declaration(capsys):
    from {{ cookiecutter.package_name }}.cli import main

    assert main(["check", "--schema", "--params", str(PROJECT_ROOT / "params.yaml")]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert "split.test_size: a number between 0.0 and 1.0" in printed
    assert "report.poster: one of cml, builtin" in printed
    described = [line.partition(":")[0] for line in printed]
    # Every key of the shipped params.yaml is described: a free-form one by its section.
    document = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text(encoding="utf-8"))
    for key in leaf_keys(document):
        assert any(key == name or key.startswith(f"{name}.") for name in described), key
