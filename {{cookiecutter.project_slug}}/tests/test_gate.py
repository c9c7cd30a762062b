import pytest

from {{ cookiecutter.package_name }}.core.gates import (
    IMPROVED,
    MISSING,
    NEW,
    REGRESSED,
    REMOVED,
    UNCHANGED,
    WITHIN_TOLERANCE,
    WORSE_UNGATED,
    MetricRule,
    compare,
    failures,
)
from {{ cookiecutter.package_name }}.errors import ParamsError
from {{ cookiecutter.package_name }}.params import load_params

HIGHER = MetricRule("higher", abs_tolerance=0.01)
LOWER = MetricRule("lower", rel_tolerance=0.05)


@pytest.mark.parametrize(
    ("rule", "baseline", "candidate", "verdict"),
    [
        (HIGHER, 0.90, 0.95, IMPROVED),
        (HIGHER, 0.90, 0.90, UNCHANGED),
        (HIGHER, 0.90, 0.895, WITHIN_TOLERANCE),
        (HIGHER, 0.90, 0.89, WITHIN_TOLERANCE),
        (HIGHER, 0.90, 0.85, REGRESSED),
        (LOWER, 50.0, 45.0, IMPROVED),
        (LOWER, 50.0, 52.5, WITHIN_TOLERANCE),
        (LOWER, 50.0, 53.0, REGRESSED),
        (MetricRule("higher", gate=False), 0.9, 0.5, WORSE_UNGATED),
    ],
)
def test_verdicts(rule, baseline, candidate, verdict):
    [comparison] = compare({"m": baseline}, {"m": candidate}, {"m": rule})
    assert comparison.verdict == verdict
    assert comparison.fails == (verdict == REGRESSED)


def test_new_and_removed_ungated_metrics_never_fail():
    rules = {"old": MetricRule("higher", gate=False)}
    comparisons = compare({"old": 1.0, "extra": 3.0}, {"new": 2.0}, rules)
    assert [(c.name, c.verdict) for c in comparisons] == [
        ("old", REMOVED),
        ("extra", REMOVED),
        ("new", NEW),
    ]
    assert failures(comparisons) == []


def test_a_gated_metric_that_disappears_fails_the_gate():
    # Deleting a metric must not be a way around its gate.
    [missing] = failures(compare({"f1": 0.9}, {"accuracy": 0.95}, {"f1": HIGHER}))
    assert missing.verdict == MISSING
    assert missing.explain() == (
        "f1 missing: 0.9000 -> n/a (a gated metric; compute it again, or set "
        "`gate: false` for it in params.yaml `gates`)"
    )


def test_regression_explains_metric_values_and_rule():
    [comparison] = failures(compare({"f1": 0.9}, {"f1": 0.8}, {"f1": HIGHER}))
    assert comparison.explain() == (
        "f1 regressed: 0.9000 -> 0.8000 (higher is better, tolerance 0.01)"
    )
    assert comparison.delta == pytest.approx(-0.1)
    assert comparison.relative_delta == pytest.approx(-0.1 / 0.9)


def test_shipped_gates_load(write_params):
    params = load_params(write_params())
    assert params.gates and all(
        rule.direction in ("higher", "lower") for rule in params.gates.values()
    )


@pytest.mark.parametrize(
    ("gates", "expected"),
    [
        ({"f1": {"direction": "up"}}, "`gates.f1.direction` is 'up'"),
        ({"f1": {"direction": "higher", "abs_tolerance": -1}}, "`gates.f1.abs_tolerance` must be"),
        (
            {"f1": {"direction": "higher", "tolerance": 1}},
            "unknown key `tolerance` under `gates.f1`",
        ),
        ({"f1": "higher"}, "`gates.f1` must be a mapping"),
        ({"f1": {"direction": "higher", "gate": "no"}}, "`gates.f1.gate` must be true or false"),
    ],
)
def test_bad_rules_are_named(write_params, gates, expected):
    with pytest.raises(ParamsError) as caught:
        load_params(write_params(gates=gates))
    assert expected in str(caught.value)
