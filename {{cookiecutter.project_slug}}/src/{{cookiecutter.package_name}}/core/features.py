"""The data's columns: which are features, of which kind, and in what types the model sees them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..params import DataParams

SKLEARN_PREFIX = "sklearn:"
SKLEARN_DATASETS = ("breast_cancer", "diabetes", "iris", "wine")
# A text or integer column with at least this share of distinct values names rows
# (a customer id) rather than describing them; with fewer values than ID_MIN_VALUES
# there is too little to tell.
ID_SHARE = 0.95
ID_MIN_VALUES = 20
# A text column is a date when this share of its values is written as one.
DATE_SHARE = 0.95
DATE_RE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
    r"([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
)
DATE_SAMPLE = 1000
# A text column is free text (a comment) when its typical value has this many words
# and at least FREE_TEXT_SHARE of its values differ: too varied to be a category.
FREE_TEXT_WORDS = 4
FREE_TEXT_SHARE = 0.5
# A stratified split gives each class one row on each side at least.
MIN_ROWS_PER_CLASS = 2


@dataclass(frozen=True)
class Features:
    """The columns a model uses, as resolved by `ingest` and written to paths.features.

    `excluded` names the columns left out by inference and why (identifier, date,
    free text, constant, empty).
    """

    target: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    excluded: tuple[tuple[str, str], ...] = ()

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "numeric": list(self.numeric),
            "categorical": list(self.categorical),
            "excluded": dict(self.excluded),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Features:
        excluded = tuple((raw.get("excluded") or {}).items())
        return cls(raw["target"], tuple(raw["numeric"]), tuple(raw["categorical"]), excluded)

    def exclusion_note(self) -> str | None:
        """The one line that names the columns inference left out, and how to keep them."""
        if not self.excluded:
            return None
        named = ", ".join(f"{column} ({reason})" for column, reason in self.excluded)
        return (
            f"left out of the features: {named}; to use one, list it under "
            "data.keep_columns in params.yaml"
        )


def is_numeric(series: pd.Series) -> bool:
    """Numbers, not booleans (a yes/no column is a category)."""
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _is_text(series: pd.Series) -> bool:
    types = pd.api.types
    return types.is_string_dtype(series) or types.is_object_dtype(series)


def _is_whole(values: pd.Series) -> bool:
    """Integers, or floats that are all whole numbers (an integer column with gaps
    reads as floats from a CSV)."""
    if pd.api.types.is_integer_dtype(values):
        return True
    if not is_numeric(values) or not pd.api.types.is_float_dtype(values):
        return False
    numbers = values.to_numpy(dtype="float64")
    return bool(np.isfinite(numbers).all() and (numbers == np.round(numbers)).all())


def looks_like_identifier(series: pd.Series) -> bool:
    """Text or integers with (almost) every value distinct: a row's name, not a feature."""
    values = series.dropna()
    if len(values) < ID_MIN_VALUES:
        return False
    if not (_is_whole(values) or _is_text(values)):
        return False
    return values.nunique() >= ID_SHARE * len(values)


def looks_like_free_text(series: pd.Series) -> bool:
    """Text of several words per value, most values different: a comment, not a category."""
    if not _is_text(series):
        return False
    values = series.dropna().astype(str)
    if len(values) < ID_MIN_VALUES:
        return False
    words = values.str.split().str.len()
    return bool(
        words.median() >= FREE_TEXT_WORDS and values.nunique() >= FREE_TEXT_SHARE * len(values)
    )


def looks_like_date(series: pd.Series) -> bool:
    """Dates and times, or text that is written as dates (2024-01-31, 31/01/2024)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    if not _is_text(series):
        return False
    values = series.dropna()
    if values.empty:
        return False
    step = max(len(values) // DATE_SAMPLE, 1)
    sample = values.iloc[::step].astype(str).str.strip()
    return float(sample.str.fullmatch(DATE_RE).mean()) >= DATE_SHARE


def unusable_reason(series: pd.Series) -> str | None:
    """Why inference leaves a column out of the features, or None to keep it."""
    if series.isna().all():
        return "empty"
    if series.nunique(dropna=True) == 1:
        return "constant"
    if looks_like_date(series):
        return "date"
    if looks_like_free_text(series):
        return "free text"
    if looks_like_identifier(series):
        return "identifier"
    return None


def _snake_case(name: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def load_sklearn_dataset(name: str, target: str) -> pd.DataFrame:
    """A data set scikit-learn ships (no network), with snake_case columns."""
    from sklearn import datasets

    if name not in SKLEARN_DATASETS:
        raise DataError(
            f"params.yaml `data.source`: unknown data set 'sklearn:{name}'; "
            f"use one of {', '.join(SKLEARN_PREFIX + n for n in SKLEARN_DATASETS)} or a file path"
        )
    loader = getattr(datasets, f"load_{name}")
    bunch = loader(as_frame=True, scaled=False) if name == "diabetes" else loader(as_frame=True)
    frame = bunch.frame.rename(columns=_snake_case)
    return frame.rename(columns={"target": target})


def resolve_features(frame: pd.DataFrame, params: DataParams) -> Features:
    """Check the configured columns against the data, or infer them when not configured."""
    if params.target not in frame.columns:
        raise DataError(
            f"params.yaml `data.target`: column {params.target!r} is not in the data; "
            f"the columns are {', '.join(map(str, frame.columns))}"
        )
    if params.numeric_features is not None:
        if params.keep_columns:
            raise DataError(
                "params.yaml `data.keep_columns` only applies when the features are inferred; "
                "add those columns to data.numeric_features or data.categorical_features"
            )
        listed = [*params.numeric_features, *(params.categorical_features or ())]
        missing = [column for column in listed if column not in frame.columns]
        if missing:
            raise DataError(
                f"params.yaml `data.*_features` names columns that are not in the data: "
                f"{', '.join(missing)}; fix the lists or set both to null to infer them"
            )
        return Features(params.target, params.numeric_features, params.categorical_features or ())

    unknown = [column for column in params.keep_columns if column not in frame.columns]
    if unknown:
        raise DataError(
            f"params.yaml `data.keep_columns` names columns that are not in the data: "
            f"{', '.join(unknown)}; the columns are {', '.join(map(str, frame.columns))}"
        )
    candidates = [str(column) for column in frame.columns if column != params.target]
    # With no rows there is nothing to judge a column by: keep them all, and let the
    # validate stage report the empty data (its row count) as it reports any bad data.
    excluded = tuple(
        (column, reason)
        for column in candidates
        if len(frame)
        and column not in params.keep_columns
        and (reason := unusable_reason(frame[column])) is not None
    )
    left_out = {column for column, _ in excluded}
    used = [column for column in candidates if column not in left_out]
    numeric = tuple(column for column in used if is_numeric(frame[column]))
    categorical = tuple(column for column in used if column not in numeric)
    if not numeric and not categorical:
        raise DataError(
            "the data has no feature columns besides the target"
            + (
                f" ({Features(params.target, (), (), excluded).exclusion_note()})"
                if excluded
                else ""
            )
            + "; check data.source"
        )
    return Features(params.target, numeric, categorical, excluded)


@dataclass(frozen=True)
class Problem:
    """Something in the data that training cannot use, reported as a failed check."""

    check: str
    column: str
    expected: str
    observed: str
    fix: str
    examples: tuple[Any, ...] = ()


def target_problems(series: pd.Series, task: str) -> list[Problem]:
    """What keeps a target from training a model of the task: classes, rows, type."""
    name = str(series.name)
    labels = series.dropna()
    if task == "classification":
        counts = labels.value_counts()
        if len(counts) < 2:
            shown = f" ({_label(counts.index[0])!r})" if len(counts) else ""
            return [
                Problem(
                    "target_has_two_classes",
                    name,
                    "2 classes or more",
                    f"target {name!r} has {len(counts)} class{'' if len(counts) == 1 else 'es'}"
                    f"{shown}",
                    "a classifier needs rows of two classes at least: fix the data or data.target",
                )
            ]
        fractional = pd.api.types.is_float_dtype(labels) and (labels != labels.round()).any()
        if fractional and len(counts) > 20:
            return [
                Problem(
                    "target_fits_task",
                    name,
                    "class labels",
                    f"target {name!r} holds {len(counts)} distinct fractional numbers",
                    "set task: regression in params.yaml (or fix data.target)",
                )
            ]
        problems = []
        few = counts[counts < MIN_ROWS_PER_CLASS]
        if len(few):
            problems.append(
                Problem(
                    "target_classes_have_enough_rows",
                    name,
                    f"{MIN_ROWS_PER_CLASS} rows of each class at least",
                    f"{len(few)} class(es) of {name!r} with fewer rows",
                    "add rows of those classes or remove them from the data",
                    tuple(_label(value) for value in few.index[:5]),
                )
            )
        return problems
    numbers = pd.to_numeric(labels, errors="coerce") if not is_numeric(labels) else labels
    if pd.api.types.is_bool_dtype(labels) or numbers.isna().any():
        examples = tuple(_label(v) for v in labels[numbers.isna()].unique()[:5])
        return [
            Problem(
                "target_fits_task",
                name,
                "numbers",
                f"target {name!r} holds {labels.dtype} values, not numbers",
                "set task: classification in params.yaml (or fix data.target)",
                examples,
            )
        ]
    return []


def training_problems(frame: pd.DataFrame, features: Features, task: str) -> list[Problem]:
    """What would keep `train` from fitting a model on this data (beyond the suite's checks)."""
    problems = []
    if features.target in frame.columns:
        problems += target_problems(frame[features.target], task)
    for column in features.columns:
        if column in frame.columns and frame[column].isna().all():
            problems.append(
                Problem(
                    "feature_has_values",
                    column,
                    "some values",
                    "every value is missing",
                    "fix the data, or leave the column out of the features",
                )
            )
    return problems


def _label(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def model_inputs(frame: pd.DataFrame, features: Features) -> pd.DataFrame:
    """The feature columns in the types the model is trained and served with.

    Numbers become float64 (so a missing value never changes a column's type at
    serving time) and categories become strings with NaN for missing.
    """
    missing = [column for column in features.columns if column not in frame.columns]
    if missing:
        raise DataError(f"the data lacks feature columns {', '.join(missing)}; rerun `dvc repro`")
    inputs = pd.DataFrame(index=frame.index)
    for column in features.numeric:
        try:
            inputs[column] = pd.to_numeric(frame[column], errors="raise").astype("float64")
        except (TypeError, ValueError):
            raise DataError(
                f"numeric feature {column!r} holds values that are not numbers; clean the data "
                "or list the column under data.categorical_features"
            ) from None
    for column in features.categorical:
        values = frame[column].astype("object")
        inputs[column] = values.where(values.notna(), np.nan).map(str, na_action="ignore")
        inputs[column] = inputs[column].astype("object")
    return inputs
