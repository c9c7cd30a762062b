import re

import numpy as np
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


def frame_with_an_id_and_a_date(rows: int = 200):
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "customer_id": [f"C{n:05d}" for n in rng.permutation(rows)],
            "account": rng.permutation(rows) + 10_000,  # integer ids
            "signup_date": pd.date_range("2023-01-01", periods=rows, freq="D").strftime("%Y-%m-%d"),
            "age": rng.integers(18, 80, rows),  # integers, but far from all distinct
            "plan": rng.choice(["basic", "plus"], rows),
            "spend": rng.normal(100, 10, rows),  # floats are all distinct: still a feature
            "notes": [None] * rows,
            "churned": rng.choice(["no", "yes"], rows),
        }
    )


@pytest.fixture
def id_and_date_csv(tmp_path):
    path = tmp_path / "data" / "input" / "customers.csv"
    path.parent.mkdir(parents=True)
    frame_with_an_id_and_a_date().to_csv(path, index=False)
    return path


ID_AND_DATE = {"data": {"source": "data/input/customers.csv", "target": "churned"}}
LEFT_OUT = (
    "left out of the features: customer_id (identifier), account (identifier), "
    "signup_date (date), notes (empty); to use one, list it under data.keep_columns "
    "in params.yaml"
)


def test_identifiers_dates_and_empty_columns_are_left_out_with_one_line(
    write_params, id_and_date_csv, capsys
):
    params = load_params(write_params(TASKS["classification"], ID_AND_DATE))
    ingest.run(params)
    features = read_features(params.paths.features)
    assert features.numeric == ("age", "spend")
    assert features.categorical == ("plan",)
    assert dict(features.excluded) == {
        "customer_id": "identifier",
        "account": "identifier",
        "signup_date": "date",
        "notes": "empty",
    }
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if "left out" in line] == [f"ingest: {LEFT_OUT}"]
    # The raw data keeps every column: the suite still checks them.
    assert "customer_id" in pd.read_parquet(params.paths.raw).columns


def test_suggest_suite_names_the_same_columns(write_params, id_and_date_csv, capsys):
    import json

    from {{ cookiecutter.package_name }}.commands.suggest_suite import Options
    from {{ cookiecutter.package_name }}.commands.suggest_suite import run as suggest_run

    params = load_params(
        write_params(TASKS["classification"], ID_AND_DATE, validation={"suite": "customers"})
    )
    suggest_run(params, Options())
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if "left out" in line] == [f"suggest-suite: {LEFT_OUT}"]
    suite = json.loads(params.suite_path.read_text())
    bounded = {
        e["kwargs"]["column"]
        for e in suite["expectations"]
        if e["type"] == "expect_column_values_to_be_between"
    }
    assert bounded == {"age", "spend"}  # an integer id gets no range to outgrow


def test_kept_columns_stay_features(write_params, id_and_date_csv, capsys):
    params = load_params(
        write_params(
            TASKS["classification"],
            ID_AND_DATE,
            data={"keep_columns": ["account", "signup_date"]},
        )
    )
    ingest.run(params)
    features = read_features(params.paths.features)
    assert features.numeric == ("account", "age", "spend")
    assert features.categorical == ("signup_date", "plan")
    assert "customer_id (identifier), notes (empty);" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"keep_columns": ["nope"]}, "`data.keep_columns` names columns that are not in the data"),
        (
            {"keep_columns": ["account"], "numeric_features": ["age"], "categorical_features": []},
            "`data.keep_columns` only applies when the features are inferred",
        ),
    ],
)
def test_bad_kept_columns_are_named(write_params, id_and_date_csv, data, expected):
    params = load_params(write_params(TASKS["classification"], ID_AND_DATE, {"data": data}))
    with pytest.raises(DataError, match=re.escape(expected)):
        ingest.run(params)


def test_a_small_or_repetitive_column_is_not_an_identifier():
    from {{ cookiecutter.package_name }}.core.features import looks_like_date, looks_like_identifier

    assert not looks_like_identifier(pd.Series(["a", "b", "c"]))  # too few values to tell
    assert not looks_like_identifier(pd.Series(np.arange(100) % 50))
    assert not looks_like_identifier(pd.Series(np.linspace(0, 1, 100)))  # floats measure
    assert looks_like_identifier(pd.Series(np.arange(100)))
    assert looks_like_date(pd.Series(["31/01/2024", "01/02/2024", None]))
    assert looks_like_date(pd.Series(pd.date_range("2024-01-01", periods=3)))
    assert not looks_like_date(pd.Series(["12", "2024", "basic"]))


def test_data_without_rows_reaches_the_gate_with_every_column(write_params, tmp_path):
    path = tmp_path / "data" / "input" / "empty.csv"
    path.parent.mkdir(parents=True)
    path.write_text("age,plan,churned\n", encoding="utf-8")
    params = load_params(write_params(data={"source": "data/input/empty.csv", "target": "churned"}))
    ingest.run(params)
    features = read_features(params.paths.features)
    assert features.columns == ["age", "plan"] and not features.excluded


def test_constant_columns_integer_ids_with_gaps_and_free_text_are_left_out(
    write_params, tmp_path, capsys
):
    rng = np.random.default_rng(3)
    rows = 200
    sample = pd.Series(np.arange(1, rows + 1), dtype="float64")
    sample[rng.choice(rows, 10, replace=False)] = np.nan  # integers with gaps read as floats
    words = ["late", "delivery", "again", "customer", "called", "twice", "about", "refund"]
    comments = pd.Series(
        [" ".join(rng.choice(words, 6)) for _ in range(rows)], dtype="object"
    ).where(rng.random(rows) < 0.2)  # mostly empty, each comment different
    frame = pd.DataFrame(
        {
            "sample_number": sample,
            "site": ["lab-1"] * rows,  # one value: says nothing about a row
            "version": [2] * rows,
            "comment": comments,
            "plan": rng.choice(["basic plan for one", "plus plan for two"], rows),
            "dose": rng.integers(1, 5, rows).astype(float),
            "churned": rng.choice(["no", "yes"], rows),
        }
    )
    path = tmp_path / "data" / "input" / "trial.csv"
    path.parent.mkdir(parents=True)
    frame.to_csv(path, index=False)
    source = {"data": {"source": "data/input/trial.csv", "target": "churned"}}
    params = load_params(write_params(TASKS["classification"], source))
    ingest.run(params)
    features = read_features(params.paths.features)
    assert dict(features.excluded) == {
        "sample_number": "identifier",
        "site": "constant",
        "version": "constant",
        "comment": "free text",
    }
    assert features.numeric == ("dose",) and features.categorical == ("plan",)
    assert (
        "ingest: left out of the features: sample_number (identifier), site (constant), "
        "version (constant), comment (free text); to use one, list it under "
        "data.keep_columns in params.yaml"
    ) in capsys.readouterr().out.splitlines()

    kept = load_params(
        write_params(TASKS["classification"], source, data={"keep_columns": ["comment", "site"]})
    )
    ingest.run(kept)
    assert read_features(kept.paths.features).categorical == ("site", "comment", "plan")


def test_changing_the_positive_class_does_not_rerun_ingest():
    """dvc.yaml: ingest depends on the `data:` keys it reads; positive_class only
    changes what evaluate scores."""
    import yaml

    from .conftest import PROJECT_ROOT

    stages = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]

    def covers(keys, key):
        return any(key == k or key.startswith(f"{k}.") for k in keys)

    assert not covers(stages["ingest"]["params"], "data.positive_class")
    for key in ("source", "target", "numeric_features", "categorical_features", "keep_columns"):
        assert covers(stages["ingest"]["params"], f"data.{key}")
    assert covers(stages["evaluate"]["params"], "data.positive_class")
