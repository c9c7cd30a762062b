"""split: hold out a seeded test set, stratified by class when asked.

A seeded shuffle in numpy is all a hold-out needs; importing scikit-learn for
it would cost this stage more than a second on every run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import Features, read_table, write_table
from ..errors import DataError
from ..params import Params


def _test_count(rows: int, test_size: float) -> int:
    """round(rows x test_size), leaving at least one row on each side."""
    return min(max(int(rows * test_size + 0.5), 1), rows - 1)


def holdout(
    rows: int, test_size: float, seed: int, labels: pd.Series | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled positions of the train and the test rows.

    With `labels`, each class gives round(its rows x test_size) rows to the test
    set and at least one to each side, so both keep the class proportions.
    """
    if rows < 2:
        raise DataError(f"cannot split {rows} row(s): a train and a test set need 2 at least")
    generator = np.random.default_rng(seed)
    if labels is None:
        groups = [np.arange(rows)]
    else:
        codes, _ = pd.factorize(labels)  # classes in order of first appearance
        groups = [np.flatnonzero(codes == code) for code in range(codes.max() + 1)]
    train_parts, test_parts = [], []
    for positions in groups:
        shuffled = generator.permutation(positions)
        cut = _test_count(len(shuffled), test_size)
        test_parts.append(shuffled[:cut])
        train_parts.append(shuffled[cut:])
    return (
        generator.permutation(np.concatenate(train_parts)),
        generator.permutation(np.concatenate(test_parts)),
    )


def run(params: Params, args: object = None) -> None:
    frame = read_table(params.paths.raw, "ingest")
    features = Features.load(params.paths.features)
    unlabeled = frame[features.target].isna()
    if unlabeled.any():
        print(f"split: dropping {int(unlabeled.sum())} rows with no {features.target!r}")
        frame = frame[~unlabeled].reset_index(drop=True)
    labels = None
    if params.split.stratify and params.task == "classification":
        labels = frame[features.target]
        counts = labels.value_counts()
        if counts.min() < 2:
            raise DataError(
                f"class '{counts.idxmin()}' of {features.target!r} has a single row, too few "
                "to stratify; add data or set split.stratify to false in params.yaml"
            )
    train_rows, test_rows = holdout(len(frame), params.split.test_size, params.split.seed, labels)
    write_table(frame.iloc[train_rows], params.paths.train)
    write_table(frame.iloc[test_rows], params.paths.test)
    print(
        f"split: {len(train_rows)} train rows, {len(test_rows)} test rows "
        f"(seed {params.split.seed}{', stratified' if labels is not None else ''})"
    )
