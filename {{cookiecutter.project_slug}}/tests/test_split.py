"""The hold-out split: seeded, complete, disjoint, and stratified when asked."""

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.split import holdout
from {{ cookiecutter.package_name }}.errors import DataError
from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.stages import ingest, split

from .conftest import TASKS


def test_every_row_lands_on_exactly_one_side():
    train, test = holdout(101, 0.2, seed=3)
    assert len(test) == 20 and len(train) == 81
    assert sorted(np.concatenate([train, test])) == list(range(101))


def test_the_seed_decides_the_split():
    first, again, other = holdout(50, 0.3, 1), holdout(50, 0.3, 1), holdout(50, 0.3, 2)
    assert all((a == b).all() for a, b in zip(first, again, strict=True))
    assert set(first[1]) != set(other[1])


def test_the_rows_come_out_shuffled():
    train, _ = holdout(200, 0.2, seed=0)
    assert (np.diff(train) < 0).any()


def test_stratified_split_keeps_each_class_proportion():
    labels = pd.Series(["a"] * 90 + ["b"] * 10 + ["c"] * 2)
    train, test = holdout(len(labels), 0.25, seed=5, labels=labels)
    test_counts = labels.iloc[test].value_counts().to_dict()
    train_counts = labels.iloc[train].value_counts().to_dict()
    # 90 x 0.25 = 22.5 and 10 x 0.25 = 2.5 round half up to 23 and 3; a class of two rows
    # still gives one row to each side.
    assert test_counts == {"a": 23, "b": 3, "c": 1}
    assert train_counts == {"a": 67, "b": 7, "c": 1}


def test_stratified_split_handles_numbers_and_strings_alike():
    numbers = pd.Series([0, 1] * 50)
    train, test = holdout(100, 0.2, seed=0, labels=numbers)
    assert numbers.iloc[test].value_counts().to_dict() == {0: 10, 1: 10}
    assert len(train) == 80


def test_a_single_row_cannot_be_split():
    with pytest.raises(DataError, match="cannot split 1 row"):
        holdout(1, 0.2, seed=0)


def test_a_tiny_test_size_still_holds_out_one_row():
    train, test = holdout(10, 0.01, seed=0)
    assert len(test) == 1 and len(train) == 9


def test_stage_writes_a_stratified_split(write_params):
    params = load_params(write_params(TASKS["classification"]))
    ingest.run(params)
    split.run(params)
    raw = pd.read_parquet(params.paths.raw)
    train, test = pd.read_parquet(params.paths.train), pd.read_parquet(params.paths.test)
    assert len(train) + len(test) == len(raw)
    whole = raw["target"].value_counts(normalize=True)
    held_out = test["target"].value_counts(normalize=True)
    assert (whole - held_out).abs().max() < 0.01
    # No row is in both (the features of a row identify it in this data set).
    features = [column for column in raw.columns if column != "target"]
    assert not set(map(tuple, train[features].to_numpy())) & set(
        map(tuple, test[features].to_numpy())
    )


def test_stage_names_a_class_too_small_to_stratify(write_params, mixed_csv):
    frame = pd.read_csv(mixed_csv)
    frame.loc[0, "churned"] = 7  # a class with a single row
    frame.to_csv(mixed_csv, index=False)
    params = load_params(
        write_params(
            TASKS["classification"],
            data={"source": "data/input/customers.csv", "target": "churned"},
        )
    )
    ingest.run(params)
    with pytest.raises(DataError, match="class '7' of 'churned' has a single row"):
        split.run(params)
    assert not params.paths.train.exists()


def test_labels_of_mixed_kinds_are_still_stratified():
    # A target column of mixed content (numbers and strings): each value is a class.
    labels = pd.Series([1, "yes"] * 10, dtype=object)
    _, test = holdout(len(labels), 0.2, seed=0, labels=labels)
    assert sorted(map(str, labels.iloc[test])) == ["1", "1", "yes", "yes"]
