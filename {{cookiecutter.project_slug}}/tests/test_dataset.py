"""A new data set: what makes one, and the floors of `gates` that judge a model on it."""

import pytest

from {{ cookiecutter.package_name }}.core.dataset import DataSet, differences
from {{ cookiecutter.package_name }}.core.gates import BELOW_FLOOR, MISSING, MetricRule, RuleChange, judge_floors
from {{ cookiecutter.package_name }}.errors import ParamsError
from {{ cookiecutter.package_name }}.params import load_params

from .conftest import TASKS

PARAMS = {"task": "classification", "data": {"target": "y"}, "validation": {"suite": "demo"}}
FEATURES = {"target": "y", "numeric": ["age", "bmi"], "categorical": ["plan"], "excluded": {}}


def test_new_rows_keep_the_data_set_and_a_new_schema_makes_another():
    old = DataSet.from_documents(PARAMS, FEATURES)
    assert differences(old, DataSet.from_documents(PARAMS, dict(FEATURES))) == ()
    moved = {**PARAMS, "validation": {"suite": "customers"}}
    features = {**FEATURES, "numeric": ["age", "tenure"], "categorical": ["bmi", "plan"]}
    assert differences(old, DataSet.from_documents(moved, features)) == (
        "data suite `demo` -> `customers`",
        "features added: `tenure`",
        "features of another kind: `bmi`",
    )
    assert old.digest() != DataSet.from_documents(moved, features).digest()
    # Without features.json on one side, the columns are not compared.
    assert differences(old, DataSet.from_documents(PARAMS, None)) == ()


def test_floors_judge_each_gated_metric_and_a_missing_one_fails():
    rules = {
        "f1": MetricRule("higher", minimum=0.6),
        "rmse": MetricRule("lower", maximum=10.0),
        "auc": MetricRule("higher", minimum=0.7),
        "recall": MetricRule("higher", minimum=0.9, gate=False),
    }
    judged = {c.name: c.verdict for c in judge_floors({}, {"f1": 0.5, "rmse": 9.0}, rules)}
    assert judged == {"f1": BELOW_FLOOR, "rmse": "meets its floor", "auc": MISSING}


def test_lowering_or_dropping_a_floor_loosens_the_rule():
    floor = MetricRule("higher", minimum=0.7)
    assert RuleChange("f1", floor, MetricRule("higher", minimum=0.6)).kind == "loosened"
    assert RuleChange("f1", floor, MetricRule("higher")).kind == "loosened"
    assert RuleChange("f1", MetricRule("higher"), floor).kind == "tightened"
    assert RuleChange("e", MetricRule("lower", maximum=1), MetricRule("lower", maximum=2)).kind == (
        "loosened"
    )


def test_params_read_the_floors_and_refuse_bad_ones(write_params):
    gates = {"gates": {"r2": {"direction": "higher", "min": 0.2}}}
    params = load_params(write_params(TASKS["regression"], gates))
    assert params.gates["r2"].minimum == 0.2 and params.gates["r2"].maximum is None
    bad = {"gates": {"r2": {"direction": "higher", "min": "high"}}}
    with pytest.raises(ParamsError, match=r"`gates.r2.min` must be a number"):
        load_params(write_params(TASKS["regression"], bad))
    crossed = {"gates": {"r2": {"direction": "higher", "min": 0.5, "max": 0.1}}}
    with pytest.raises(ParamsError, match=r"`gates.r2.min` is above its max"):
        load_params(write_params(TASKS["regression"], crossed))
