"""make-batch: a demo batch of "current data", drawn from the test split and optionally shifted.

It lets a newcomer see `mlops monitor` stay quiet on data like the training
data, and fire on a shifted mean or scale, a new category, or relabelled rows.
Rows come from the held-out test split, so the model has not seen them.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.features import Features
from ..errors import DataError, ProjectError
from ..io import DATA_SUFFIXES, read_features, read_table, shown, write_data
from ..params import Params


@dataclass(frozen=True)
class Options:
    rows: int | None = None
    seed: int = 0
    shift_mean: tuple[tuple[str, float], ...] = ()
    shift_scale: tuple[tuple[str, float], ...] = ()
    new_category: tuple[tuple[str, str], ...] = ()
    new_category_share: float = 0.3
    label_shift: float = 0.0
    no_labels: bool = False
    output: Path | None = None


def _assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise argparse.ArgumentTypeError(f"{text!r} is not FEATURE=VALUE")
    return name, value


def _factor(text: str) -> tuple[str, float]:
    name, value = _assignment(text)
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if number != number or number in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"{text!r}: K must be a number, as in {name}=1.5")
    return name, number


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share between 0 and 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, help="rows in the batch (default: the test split's)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument(
        "--shift-mean",
        type=_factor,
        action="append",
        default=[],
        metavar="FEATURE=K",
        help="add K standard deviations to a numeric feature (repeatable)",
    )
    parser.add_argument(
        "--shift-scale",
        type=_factor,
        action="append",
        default=[],
        metavar="FEATURE=K",
        help="multiply a numeric feature's spread around its mean by K (repeatable)",
    )
    parser.add_argument(
        "--new-category",
        type=_assignment,
        action="append",
        default=[],
        metavar="FEATURE=VALUE",
        help="set a categorical feature to a value never seen in training, in a share of "
        "the rows (--new-category-share) (repeatable)",
    )
    parser.add_argument(
        "--new-category-share",
        type=_share,
        default=0.3,
        metavar="P",
        help="share of rows given the new category (default: %(default)s)",
    )
    parser.add_argument(
        "--label-shift",
        type=_share,
        default=0.0,
        metavar="P",
        help="relabel a share P of the rows: another class (classification) or another "
        "row's target (regression)",
    )
    parser.add_argument(
        "--no-labels", action="store_true", help="drop the target column, as unlabelled data"
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="CSV or Parquet file to write (default: monitoring.batch in params.yaml)",
    )


def _numeric_feature(name: str, features: Features) -> str:
    if name not in features.numeric:
        known = ", ".join(features.numeric) or "(none)"
        raise ProjectError(f"{name!r} is not a numeric feature; use one of {known}")
    return name


def sample(pool: pd.DataFrame, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Rows without replacement when the pool is big enough, else with replacement."""
    replace = rows > len(pool)
    chosen = rng.choice(len(pool), size=rows, replace=replace)
    return pool.iloc[chosen].reset_index(drop=True)


def shift(
    batch: pd.DataFrame,
    reference: pd.DataFrame,
    features: Features,
    options: Options,
    rng: np.random.Generator,
    task: str,
) -> pd.DataFrame:
    """Apply the requested shifts; scales come from the reference, so K is in its units."""
    batch = batch.copy()
    for name, value in options.shift_mean:
        column = _numeric_feature(name, features)
        std = float(pd.to_numeric(reference[column]).std())
        batch[column] = pd.to_numeric(batch[column]) + float(value) * std
    for name, value in options.shift_scale:
        column = _numeric_feature(name, features)
        mean = float(pd.to_numeric(reference[column]).mean())
        batch[column] = mean + (pd.to_numeric(batch[column]) - mean) * float(value)
    for name, category in options.new_category:
        if name not in features.categorical:
            raise ProjectError(
                f"{name!r} is not a categorical feature; use one of "
                f"{', '.join(features.categorical) or '(none: the data has no categories)'}"
            )
        chosen = rng.random(len(batch)) < options.new_category_share
        batch[name] = batch[name].astype("object")
        batch.loc[chosen, name] = category
    if options.label_shift:
        target = features.target
        rows = np.flatnonzero(rng.random(len(batch)) < options.label_shift)
        labels = batch[target].to_numpy(copy=True)
        if task == "classification":
            classes = np.array(sorted(pd.unique(reference[target].dropna())))
            if len(classes) < 2:
                raise DataError(f"{target!r} has a single class; there is nothing to shift to")
            positions = np.searchsorted(classes, labels[rows])
            labels[rows] = classes[(positions + 1) % len(classes)]
        else:
            labels[rows] = labels[rng.permutation(rows)]
        batch[target] = labels
    return batch


def run(params: Params, options: Options) -> None:
    features = read_features(params.paths.features)
    pool = read_table(params.paths.test, "split")
    reference = read_table(params.paths.train, "split")
    rows = len(pool) if options.rows is None else options.rows
    if rows < 1:
        raise ProjectError(f"--rows {rows}: give a positive number of rows")
    output = options.output or params.monitoring.batch
    if output.suffix.lower() not in DATA_SUFFIXES:
        raise ProjectError(f"--output {output}: use a .csv or .parquet file name")

    rng = np.random.default_rng(options.seed)
    batch = shift(sample(pool, rows, rng), reference, features, options, rng, params.task)
    if options.no_labels:
        batch = batch.drop(columns=features.target)
    write_data(batch, Path(output))
    note = " (drawn with replacement: more rows than the test split)" if rows > len(pool) else ""
    print(
        f"make-batch: {rows} rows from {params.paths.test.name}{note} -> "
        f"{shown(output, params.root)}"
    )
