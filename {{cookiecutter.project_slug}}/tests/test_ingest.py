import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.errors import DataError
from {{ cookiecutter.package_name }}.io import read_features
from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.stages import ingest

from .conftest import TASKS


@pytest.mark.parametrize("task", sorted(TASKS))
def test_default_sources_load_with_numeric_features(write_params, task):
    params = load_params(write_params(TASKS[task]))
    ingest.run(params)
    raw = pd.read_parquet(params.paths.raw)
    features = read_features(params.paths.features)
    assert len(raw) > 400
    assert features.target == "target"
    assert features.numeric and not features.categorical
    assert set(features.columns) == set(raw.columns) - {"target"}
    assert all(name == name.lower() and " " not in name for name in raw.columns)


def test_own_csv_infers_categorical_columns(write_params, mixed_csv):
    params = load_params(
        write_params(data={"source": "data/input/customers.csv", "target": "churned"})
    )
    ingest.run(params)
    features = read_features(params.paths.features)
    assert features.categorical == ("plan", "region")
    assert features.numeric == ("age", "income", "spend")
    assert pd.read_parquet(params.paths.raw)["income"].isna().sum() == 25


def test_explicit_feature_lists_are_kept(write_params, mixed_csv):
    params = load_params(
        write_params(
            data={
                "source": "data/input/customers.csv",
                "target": "churned",
                "numeric_features": ["age"],
                "categorical_features": ["plan"],
            }
        )
    )
    ingest.run(params)
    assert read_features(params.paths.features).columns == ["age", "plan"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"target": "nope"}, "column 'nope' is not in the data"),
        (
            {"source": "data/input/absent.csv"},
            "`data.source` 'data/input/absent.csv': file not found",
        ),
        ({"source": "data/input/data.xlsx"}, "'data/input/data.xlsx': not a .csv or .parquet file"),
        ({"source": "sklearn:titanic"}, "unknown data set 'sklearn:titanic'"),
        ({"numeric_features": ["age", "ghost"], "categorical_features": []}, "ghost"),
    ],
)
def test_bad_sources_fail_clearly_and_write_nothing(write_params, mixed_csv, data, expected):
    params = load_params(
        write_params(data={"source": "data/input/customers.csv", "target": "churned", **data})
    )
    with pytest.raises(DataError, match=None) as caught:
        ingest.run(params)
    assert expected in str(caught.value)
    assert not params.paths.raw.exists()
    assert not params.paths.features.exists()
