"""Reading the configured data source and describing its features."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError
from .files import atomic_path, read_json, write_json
from .params import DataParams

SKLEARN_PREFIX = "sklearn:"
SKLEARN_DATASETS = ("breast_cancer", "diabetes", "iris", "wine")
FILE_READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet}


@dataclass(frozen=True)
class Features:
    """The columns a model uses, as resolved by `ingest` and written to paths.features."""

    target: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def save(self, path: Path) -> None:
        write_json(
            path,
            {
                key: list(value) if isinstance(value, tuple) else value
                for key, value in asdict(self).items()
            },
        )

    @classmethod
    def load(cls, path: Path) -> Features:
        try:
            raw = read_json(path)
            return cls(raw["target"], tuple(raw["numeric"]), tuple(raw["categorical"]))
        except FileNotFoundError:
            raise DataError(f"{path} is missing; run `dvc repro ingest` first") from None
        except (KeyError, TypeError, ValueError) as error:
            raise DataError(f"{path} is malformed ({error}); rerun `dvc repro -f ingest`") from None


def _snake_case(name: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def load_sklearn_dataset(name: str, target: str) -> pd.DataFrame:
    from sklearn import datasets

    if name not in SKLEARN_DATASETS:
        raise DataError(
            f"params.yaml `data.source`: unknown data set 'sklearn:{name}'; "
            f"use one of {', '.join(SKLEARN_PREFIX + n for n in SKLEARN_DATASETS)} or a file path"
        )
    bunch = (
        getattr(datasets, f"load_{name}")(as_frame=True, scaled=False)
        if name == "diabetes"
        else getattr(datasets, f"load_{name}")(as_frame=True)
    )
    frame = bunch.frame.rename(columns=_snake_case)
    return frame.rename(columns={"target": target})


def read_source(source: str, root: Path, target: str) -> pd.DataFrame:
    """Load `data.source`: a scikit-learn data set or a CSV/Parquet file under the project."""
    if source.startswith(SKLEARN_PREFIX):
        return load_sklearn_dataset(source.removeprefix(SKLEARN_PREFIX), target)
    path = root / source
    reader = FILE_READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(
            f"params.yaml `data.source`: {source!r} is neither `sklearn:<name>` nor a "
            f".csv/.parquet file; convert the data or fix the path"
        )
    if not path.is_file():
        raise DataError(
            f"params.yaml `data.source`: file {source!r} does not exist (paths are relative to "
            f"{root}); put the file there (and `dvc add` it) or fix the path"
        )
    try:
        return reader(path)
    except Exception as error:  # the readers raise many types; all mean "unreadable"
        raise DataError(f"could not read {source!r}: {error}; check the file's format") from None


def read_data_file(path: Path, option: str = "--data") -> pd.DataFrame:
    """A CSV or Parquet file named on the command line (by `option`), with string column names."""
    reader = FILE_READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(f"{option} {path}: not a .csv or .parquet file; convert it or fix the path")
    if not path.is_file():
        raise DataError(f"{option} {path}: file not found; fix the path")
    try:
        frame = reader(path)
    except Exception as error:  # the readers raise many types; all mean "unreadable"
        raise DataError(f"{option} {path}: could not read it ({error}); check the file") from None
    frame.columns = [str(column) for column in frame.columns]
    return frame


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

    candidates = [column for column in frame.columns if column != params.target]
    numeric = tuple(
        str(c)
        for c in candidates
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    )
    categorical = tuple(str(c) for c in candidates if str(c) not in numeric)
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


def read_table(path: Path, stage: str) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path} is missing; run `dvc repro {stage}` to create it")
    return pd.read_parquet(path)


def write_table(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as staged:
        frame.to_parquet(staged, index=False)
