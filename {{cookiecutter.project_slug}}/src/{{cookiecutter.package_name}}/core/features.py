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


@dataclass(frozen=True)
class Features:
    """The columns a model uses, as resolved by `ingest` and written to paths.features."""

    target: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "numeric": list(self.numeric),
            "categorical": list(self.categorical),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Features:
        return cls(raw["target"], tuple(raw["numeric"]), tuple(raw["categorical"]))


def is_numeric(series: pd.Series) -> bool:
    """Numbers, not booleans (a yes/no column is a category)."""
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


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
        listed = [*params.numeric_features, *(params.categorical_features or ())]
        missing = [column for column in listed if column not in frame.columns]
        if missing:
            raise DataError(
                f"params.yaml `data.*_features` names columns that are not in the data: "
                f"{', '.join(missing)}; fix the lists or set both to null to infer them"
            )
        return Features(params.target, params.numeric_features, params.categorical_features or ())

    candidates = [str(column) for column in frame.columns if column != params.target]
    numeric = tuple(column for column in candidates if is_numeric(frame[column]))
    categorical = tuple(column for column in candidates if column not in numeric)
    if not numeric and not categorical:
        raise DataError("the data has no feature columns besides the target; check data.source")
    return Features(params.target, numeric, categorical)


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
