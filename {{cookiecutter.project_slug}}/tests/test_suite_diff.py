import pytest

from {{ cookiecutter.package_name }}.core.suite_diff import (
    ADDED,
    CHANGED,
    LOOSENED,
    REMOVED,
    TIGHTENED,
    diff_suites,
)
from {{ cookiecutter.package_name }}.errors import DataError


def suite(*expectations):
    return {"name": "s", "expectations": [{"type": t, "kwargs": k} for t, k in expectations]}


BETWEEN = "expect_column_values_to_be_between"
IN_SET = "expect_column_values_to_be_in_set"
NOT_IN_SET = "expect_column_values_to_not_be_in_set"
NOT_NULL = "expect_column_values_to_not_be_null"
TYPES = "expect_column_values_to_be_in_type_list"
ROWS = "expect_table_row_count_to_be_between"
COLUMNS = "expect_table_columns_to_match_set"


def changed(old, new):
    """The one change between two single-expectation suites, as (kind, details)."""
    [change] = diff_suites(suite(old), suite(new), "old", "new")
    return change.kind, change.details


@pytest.mark.parametrize(
    ("old", "new", "kind", "detail"),
    [
        (
            (BETWEEN, {"column": "a", "min_value": 0, "max_value": 10}),
            (BETWEEN, {"column": "a", "min_value": 0, "max_value": 100}),
            LOOSENED,
            "max_value 10 -> 100 (wider)",
        ),
        (
            (BETWEEN, {"column": "a", "min_value": 0, "max_value": 10}),
            (BETWEEN, {"column": "a", "min_value": 1, "max_value": 10}),
            TIGHTENED,
            "min_value 0 -> 1 (narrower)",
        ),
        (
            (BETWEEN, {"column": "a", "min_value": 0, "max_value": 10}),
            (BETWEEN, {"column": "a", "max_value": 10}),
            LOOSENED,
            "min_value 0 -> none (no lower bound)",
        ),
        (
            # One bound wider and one narrower still accepts data it refused: flagged.
            (BETWEEN, {"column": "a", "min_value": 0, "max_value": 10}),
            (BETWEEN, {"column": "a", "min_value": 5, "max_value": 20}),
            LOOSENED,
            "max_value 10 -> 20 (wider)",
        ),
        (
            (ROWS, {"min_value": 284, "max_value": 854}),
            (ROWS, {"min_value": 1, "max_value": 854}),
            LOOSENED,
            "min_value 284 -> 1 (wider)",
        ),
        (
            (IN_SET, {"column": "c", "value_set": ["a", "b"]}),
            (IN_SET, {"column": "c", "value_set": ["a", "b", "z"]}),
            LOOSENED,
            'value_set adds ["z"]',
        ),
        (
            (IN_SET, {"column": "c", "value_set": ["a", "b"]}),
            (IN_SET, {"column": "c", "value_set": ["a"]}),
            TIGHTENED,
            'value_set drops ["b"]',
        ),
        (
            (NOT_IN_SET, {"column": "c", "value_set": ["x"]}),
            (NOT_IN_SET, {"column": "c", "value_set": []}),
            LOOSENED,
            'value_set drops ["x"]',
        ),
        (
            (NOT_NULL, {"column": "c"}),
            (NOT_NULL, {"column": "c", "mostly": 0.9}),
            LOOSENED,
            "mostly 1.0 -> 0.9",
        ),
        (
            (TYPES, {"column": "c", "type_list": ["int64"]}),
            (TYPES, {"column": "c", "type_list": ["int64", "object"]}),
            LOOSENED,
            'type_list adds ["object"]',
        ),
        (
            (COLUMNS, {"column_set": ["a", "b"], "exact_match": True}),
            (COLUMNS, {"column_set": ["a", "b"], "exact_match": False}),
            LOOSENED,
            "exact_match true -> false",
        ),
        (
            (COLUMNS, {"column_set": ["a", "b"], "exact_match": True}),
            (COLUMNS, {"column_set": ["a", "c"], "exact_match": True}),
            CHANGED,
            'column_set adds ["c"] and drops ["b"]',
        ),
    ],
)
def test_each_edit_is_classified_and_described(old, new, kind, detail):
    found_kind, details = changed(old, new)
    assert found_kind == kind
    assert detail in details


def test_added_removed_and_unchanged_expectations():
    old = suite(
        (NOT_NULL, {"column": "a"}),
        (NOT_NULL, {"column": "b"}),
        (BETWEEN, {"column": "a", "min_value": 0, "max_value": 1}),
    )
    new = suite(
        (BETWEEN, {"column": "a", "min_value": 0, "max_value": 1}),
        (NOT_NULL, {"column": "a"}),
        (IN_SET, {"column": "b", "value_set": [1, 2]}),
    )
    changes = diff_suites(old, new, "old", "new")
    assert [(c.kind, c.type, c.column) for c in changes] == [
        (REMOVED, NOT_NULL, "b"),
        (ADDED, IN_SET, "b"),
    ]
    assert changes[0].details == ("the column may now be null",)
    assert changes[0].weaker and not changes[1].weaker
    assert diff_suites(old, old, "old", "new") == []


def test_meta_edits_are_not_changes():
    old = {"expectations": [{"type": ROWS, "kwargs": {"max_value": 9}, "meta": {"observed": 5}}]}
    new = {"expectations": [{"type": ROWS, "kwargs": {"max_value": 9}, "meta": {"observed": 6}}]}
    assert diff_suites(old, new, "old", "new") == []


@pytest.mark.parametrize("document", [[], {"expectations": "x"}, {"expectations": [{"kw": 1}]}])
def test_a_document_that_is_no_suite_is_named(document):
    with pytest.raises(DataError, match=r"^gx/x.json at main: not an expectation suite"):
        diff_suites(document, suite(), "gx/x.json at main", "new")
