"""suggest-suite: a first suite for data the template does not ship, written deterministically."""

import json
import re

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.commands.suggest_suite import Options, run
from {{ cookiecutter.package_name }}.core.suites import numeric_bounds, render, suggest_suite
from {{ cookiecutter.package_name }}.errors import ProjectError
from {{ cookiecutter.package_name }}.integrations.gx import validate_frame
from {{ cookiecutter.package_name }}.io import read_source
from {{ cookiecutter.package_name }}.params import SuggestParams, load_params

from .conftest import PROJECT_ROOT, TASKS, fixture_params

OWN_DATA = {"data": {"source": "data/input/customers.csv", "target": "churned"}}


def suggested(params, **kwargs):
    run(params, Options(data=None, force=False, **kwargs))
    return params.suite_path.read_bytes()


@pytest.fixture
def own(write_params, mixed_csv):
    return load_params(
        write_params(TASKS["classification"], OWN_DATA, validation={"suite": "customers"})
    )


def kinds(suite, column):
    return {
        e["type"]: e["kwargs"] for e in suite["expectations"] if e["kwargs"].get("column") == column
    }


def test_the_suite_describes_own_data_with_categories_and_gaps(own):
    suite = json.loads(suggested(own))
    assert suite["name"] == "customers"
    table = suite["expectations"][0]["kwargs"]
    assert table["column_set"] == ["age", "income", "plan", "region", "churned", "spend"]
    assert kinds(suite, "plan")["expect_column_values_to_be_in_set"]["value_set"] == [
        "basic",
        "plus",
        "premium",
    ]
    assert kinds(suite, "plan")["expect_column_values_to_be_of_type"]["type_"] == "str"
    # 25 of 300 values missing: 91.7% present, less the 10% margin, rounded down.
    assert kinds(suite, "plan")["expect_column_values_to_not_be_null"]["mostly"] == 0.82
    assert kinds(suite, "income")["expect_column_values_to_not_be_null"]["mostly"] == 0.82
    assert "mostly" not in kinds(suite, "region")["expect_column_values_to_not_be_null"]
    assert kinds(suite, "churned")["expect_column_values_to_be_in_set"]["value_set"] == [0, 1]
    classes = kinds(suite, "churned")["expect_column_unique_value_count_to_be_between"]
    assert classes == {"column": "churned", "min_value": 2}
    age = kinds(suite, "age")["expect_column_values_to_be_between"]
    assert age["min_value"] <= 18 and age["max_value"] >= 79


def test_own_data_passes_its_suite_and_a_corrupted_copy_fails(own):
    suggested(own)
    frame = read_source(own.data.source, own.root, own.data.target)
    assert validate_frame(frame, own.suite_path).success

    broken = frame.copy()
    broken.loc[0, "plan"] = "platinum"
    broken.loc[1, "region"] = None
    broken.loc[2, "age"] = 400.0
    result = validate_frame(broken, own.suite_path)
    failed = {(f.expectation, f.column) for f in result.failures}
    assert failed == {
        ("expect_column_values_to_be_in_set", "plan"),
        ("expect_column_values_to_not_be_null", "region"),
        ("expect_column_values_to_be_between", "age"),
    }
    plan = next(f for f in result.failures if f.column == "plan")
    assert plan.unexpected_values == ["platinum"]


def test_rerunning_gives_the_same_bytes_and_needs_force(own):
    first = suggested(own)
    with pytest.raises(ProjectError, match=r"customers.json exists.*pass --force"):
        suggested(own)
    run(own, Options(data=None, force=True))
    assert own.suite_path.read_bytes() == first


def test_the_shipped_suite_is_what_the_generator_writes_for_the_demo_data():
    """The demo data set's suite, as the project ships it, is the generator's draft."""
    demo = fixture_params()
    shipped = PROJECT_ROOT / "gx" / "expectations" / f"{demo['validation']['suite']}.json"
    frame = read_source(demo["data"]["source"], PROJECT_ROOT, demo["data"]["target"])
    suite = suggest_suite(
        frame,
        name=demo["validation"]["suite"],
        target=demo["data"]["target"],
        task=demo["task"],
        # The settings params.yaml ships with, which drafted the demo suite.
        settings=SuggestParams(margin=0.1, max_categories=20, row_count_margin=0.5),
        reference=demo["data"]["source"],
    )
    assert shipped.read_text(encoding="utf-8") == render(suite)


def test_settings_shape_the_suite(write_params, mixed_csv):
    params = load_params(
        write_params(
            OWN_DATA,
            validation={
                "suite": "customers",
                "suggest": {"max_categories": 3, "row_count_margin": 0.0, "margin": 0.0},
            },
        )
    )
    suite = json.loads(suggested(params))
    assert "expect_column_values_to_be_in_set" in kinds(suite, "plan")  # 3 values
    assert "expect_column_values_to_be_in_set" not in kinds(suite, "region")  # 4 values
    rows = suite["expectations"][1]["kwargs"]
    assert rows == {"min_value": 300, "max_value": 300}


@pytest.mark.parametrize(
    ("values", "margin", "expected"),
    [
        ([6.981, 28.11], 0.1, (4.8, 30.3)),
        ([0.5, 1.5], 1.0, (0.0, 2.5)),  # never negative: floor at 0
        ([-3.0, 1.0], 0.25, (-4.0, 2.0)),
        ([5.0, 5.0], 0.1, (4.5, 5.5)),  # a constant column still gets a band
        ([1, 10], 0.1, (0, 11)),  # integer columns keep integer bounds
    ],
)
def test_numeric_bounds_round_outward(values, margin, expected):
    low, high = numeric_bounds(pd.Series(values), margin)
    assert (low, high) == expected
    assert low <= min(values) and high >= max(values)
    assert type(low) is type(expected[0])


def test_an_empty_reference_is_refused(tmp_path, write_params):
    params = load_params(write_params(OWN_DATA, validation={"suite": "customers"}))
    empty = tmp_path / "empty.csv"
    empty.write_text("age,churned\n")
    with pytest.raises(ProjectError, match="has no rows"):
        run(params, Options(data=empty, force=False))


def test_every_kind_of_column_passes_its_own_suite(write_params):
    params = load_params(write_params(TASKS["regression"], validation={"suite": "kinds"}))
    frame = pd.DataFrame(
        {
            "count": [0, 3, 7, 12],
            "share": [0.25, None, 0.5, 0.125],
            "flag": [True, False, True, True],
            "when": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]),
            "label": pd.Series(["a", "b", "a", "c"], dtype="category"),
            "note": ["x", None, "y", "z"],
            "target": [1.5, 2.5, 3.5, 10.0],
        }
    )
    suite = suggest_suite(
        frame,
        name="kinds",
        target="target",
        task="regression",
        settings=params.validation.suggest,
        reference="frame",
    )
    params.suite_path.parent.mkdir(parents=True)
    params.suite_path.write_text(render(suite))
    result = validate_frame(frame, params.suite_path)
    assert result.success, result.to_text()
    assert kinds(suite, "count")["expect_column_values_to_be_between"] == {
        "column": "count",
        "min_value": 0,
        "max_value": 14,
    }


def test_an_empty_feature_column_or_a_single_class_fails_the_drafted_suite(own):
    suggested(own)
    frame = read_source(own.data.source, own.root, own.data.target)
    sparser = frame.copy()
    sparser.loc[:19, "income"] = None  # 20 more gaps: still above the drafted share
    assert validate_frame(sparser, own.suite_path).success

    empty = frame.copy()
    empty["income"] = float("nan")
    failed = validate_frame(empty, own.suite_path).failures
    assert [(f.expectation, f.column) for f in failed] == [
        ("expect_column_values_to_not_be_null", "income")
    ]
    assert failed[0].cells()[2:4] == ["values in 82% of rows at least", "300 of 300 rows missing"]

    single = frame.copy()
    single["churned"] = 0
    failed = validate_frame(single, own.suite_path).failures
    assert [(f.expectation, f.column) for f in failed] == [
        ("expect_column_unique_value_count_to_be_between", "churned")
    ]


@pytest.mark.parametrize(
    ("task", "target", "expected"),
    [
        ("classification", [1] * 30, "target 'y' has 1 class (1); a classifier needs"),
        ("classification", [0.5 + i / 7 for i in range(30)], "set task: regression"),
        ("regression", ["low", "high"] * 15, "set task: classification"),
    ],
)
def test_a_reference_training_cannot_use_is_refused(task, target, expected):
    from {{ cookiecutter.package_name }}.errors import DataError
    from {{ cookiecutter.package_name }}.params import SuggestParams

    frame = pd.DataFrame({"x": range(30), "y": target})
    with pytest.raises(DataError, match=re.escape(expected)):
        suggest_suite(
            frame,
            name="s",
            target="y",
            task=task,
            settings=SuggestParams(margin=0.1, max_categories=20, row_count_margin=0.5),
            reference="ref.csv",
        )
