"""Drafting a GX expectation suite from reference data, as the JSON document GX stores.

GX Core 1.x has no profiler, so this writes a first suite from what the data
shows: its exact columns, their types, the share of values each column must
have (all of them when the reference misses none), numeric bounds widened by a
margin, the value sets of low-cardinality text columns, the target's classes
(two at least) or range, and a band of row counts. The output
has no ids or timestamps: the same data always gives the same bytes, so a
regenerated suite shows up in review as a clean diff.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from ..errors import DataError
from ..params import SuggestParams
from .features import is_numeric, looks_like_identifier, target_problems

NUMERIC_TYPE_LIST = ["float64", "int64"]


def _is_categorical(series: pd.Series) -> bool:
    """Text, booleans and categories: columns whose values can be listed as a set."""
    types = pd.api.types
    return (
        types.is_string_dtype(series)
        or types.is_bool_dtype(series)
        or isinstance(series.dtype, pd.CategoricalDtype)
    )


def _number(value: Any) -> int | float:
    value = value.item() if hasattr(value, "item") else value
    return int(value) if isinstance(value, int) else float(value)


def _outward(value: float, step: float, down: bool) -> float:
    """`value` rounded to a multiple of `step` away from the data (never inward)."""
    digits = max(0, -round(math.log10(step)))
    multiple = (math.floor if down else math.ceil)(value / step)
    rounded = round(multiple * step, digits)
    if down and rounded > value:
        rounded = round(rounded - step, digits)
    if not down and rounded < value:
        rounded = round(rounded + step, digits)
    return rounded


def numeric_bounds(series: pd.Series, margin: float) -> tuple[int | float, int | float] | None:
    """The observed range widened by `margin` x its width, in round numbers.

    A column that is never negative keeps a floor of 0; integer columns keep
    integer bounds.
    """
    values = series.dropna()
    if values.empty:
        return None
    low, high = _number(values.min()), _number(values.max())
    width = high - low or abs(high) or 1.0
    padded_low, padded_high = low - margin * width, high + margin * width
    if low >= 0:
        padded_low = max(padded_low, 0)
    if pd.api.types.is_integer_dtype(series):
        return math.floor(padded_low), math.ceil(padded_high)
    step = 10.0 ** (math.floor(math.log10(width)) - 2)
    return _outward(padded_low, step, down=True), _outward(padded_high, step, down=False)


def _present_share(series: pd.Series) -> float:
    return float(series.notna().mean()) if len(series) else 0.0


def _mostly(present: float, margin: float) -> float:
    """The share of values a column must have: the reference's, less `margin` of it.

    Rounded down to a hundredth, and above 0 so an entirely empty column fails.
    """
    return max(math.floor(present * (1 - margin) * 100) / 100, 0.01)


def _type_expectation(column: str, series: pd.Series) -> dict[str, Any] | None:
    if is_numeric(series):
        # Numbers may be read as integers in one file and floats in the next
        # (a missing value turns an integer column into floats), so allow both.
        types = sorted({*NUMERIC_TYPE_LIST, str(series.dtype)})
        return _expect("expect_column_values_to_be_in_type_list", column=column, type_list=types)
    if isinstance(series.dtype, pd.CategoricalDtype):
        return None  # GX cannot name a categorical dtype; the value set still applies
    return _expect("expect_column_values_to_be_of_type", column=column, type_=str(series.dtype))


def _expect(kind: str, meta: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    expectation: dict[str, Any] = {"type": kind, "kwargs": kwargs}
    if meta:
        expectation["meta"] = meta
    return expectation


def _sorted_values(values: pd.Series) -> list[Any]:
    return sorted((_plain_value(value) for value in values.dropna().unique()), key=_sort_key)


def _plain_value(value: Any) -> Any:
    value = value.item() if hasattr(value, "item") else value
    return value if isinstance(value, bool | int | float) else str(value)


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, bool | int | float) else (1, str(value))


def _table_expectations(frame: pd.DataFrame, settings: SuggestParams) -> list[dict[str, Any]]:
    """The exact columns, and a band of row counts around the reference's."""
    rows = len(frame)
    return [
        _expect(
            "expect_table_columns_to_match_set",
            column_set=[str(column) for column in frame.columns],
            exact_match=True,
        ),
        _expect(
            "expect_table_row_count_to_be_between",
            {"observed": rows},
            min_value=max(1, math.floor(rows * (1 - settings.row_count_margin))),
            max_value=math.ceil(rows * (1 + settings.row_count_margin)),
        ),
    ]


def _presence(column: str, series: pd.Series, margin: float) -> dict[str, Any] | None:
    """Every value present when the reference misses none, else most of them."""
    present = _present_share(series)
    if present == 1:
        return _expect("expect_column_values_to_not_be_null", column=column)
    if present > 0:
        return _expect(
            "expect_column_values_to_not_be_null",
            {"observed": {"present_share": round(present, 4)}},
            column=column,
            mostly=_mostly(present, margin),
        )
    return None


def _values(
    column: str, series: pd.Series, settings: SuggestParams, is_classes: bool
) -> dict[str, Any] | None:
    """Widened bounds for a numeric column, or the value set of classes and categories."""
    if is_numeric(series) and not is_classes and not looks_like_identifier(series):
        bounds = numeric_bounds(series, settings.margin)
        if bounds is None:
            return None
        observed = {"min": _number(series.min()), "max": _number(series.max())}
        return _expect(
            "expect_column_values_to_be_between",
            {"observed": observed},
            column=column,
            min_value=bounds[0],
            max_value=bounds[1],
        )
    if is_classes or (
        _is_categorical(series) and series.nunique(dropna=True) <= settings.max_categories
    ):
        return _expect(
            "expect_column_values_to_be_in_set", column=column, value_set=_sorted_values(series)
        )
    return None


def _column_expectations(
    column: str, series: pd.Series, settings: SuggestParams, is_classes: bool
) -> list[dict[str, Any]]:
    found = [
        _type_expectation(column, series),
        _presence(column, series, settings.margin),
        _values(column, series, settings, is_classes),
    ]
    if is_classes:
        # A classifier needs two classes at least; fewer passes the value set above.
        found.append(
            _expect(
                "expect_column_unique_value_count_to_be_between",
                {"observed": int(series.nunique(dropna=True))},
                column=column,
                min_value=2,
            )
        )
    return [expectation for expectation in found if expectation]


def suggest_suite(
    frame: pd.DataFrame,
    *,
    name: str,
    target: str,
    task: str,
    settings: SuggestParams,
    reference: str,
) -> dict[str, Any]:
    """A suite (as the JSON document GX stores) that the reference frame passes."""
    if frame.empty:
        raise DataError(f"{reference} has no rows; a suite needs reference data with rows")
    problems = target_problems(frame[target], task) if target in frame.columns else []
    if problems:
        raise DataError(
            f"{reference}: {problems[0].observed}; {problems[0].fix} "
            "(a suite drafted from this data would let it through)"
        )
    expectations = _table_expectations(frame, settings)
    for column in map(str, frame.columns):
        is_classes = column == target and task == "classification"
        expectations += _column_expectations(column, frame[column], settings, is_classes)
    return {
        "name": name,
        "meta": {
            "generated_by": "mlops suggest-suite: a draft to review, edit and commit",
            "reference": {"data": reference, "rows": len(frame)},
            "settings": {
                "margin": settings.margin,
                "max_categories": settings.max_categories,
                "row_count_margin": settings.row_count_margin,
            },
        },
        "expectations": expectations,
    }


LINE_LIMIT = 100


def _json(value: Any, indent: int, column: int, expand: int = 0) -> str:
    """JSON that keeps small values on one line; `expand` levels are always broken up.

    The suite is written with one block per expectation and one line per
    argument, so a changed bound is a one-line diff.
    """
    inline = json.dumps(value, ensure_ascii=False, allow_nan=False)
    is_container = isinstance(value, dict | list) and value
    if not is_container or (not expand and column + len(inline) <= LINE_LIMIT):
        return inline
    pad, inner = " " * indent, " " * (indent + 2)
    deeper = max(expand - 1, 0)
    if isinstance(value, list):
        items = [inner + _json(item, indent + 2, indent + 2, deeper) for item in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    items = []
    for key, item in value.items():
        prefix = f"{inner}{json.dumps(key, ensure_ascii=False)}: "
        levels = 2 if key == "expectations" else deeper
        items.append(prefix + _json(item, indent + 2, len(prefix), levels))
    return "{\n" + ",\n".join(items) + f"\n{pad}}}"


def render(suite: dict[str, Any]) -> str:
    """The suite file's text: the top level and each expectation expanded, values compact."""
    return _json(suite, 0, 0, expand=1) + "\n"
