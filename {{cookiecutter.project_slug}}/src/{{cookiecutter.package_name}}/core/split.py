"""The hold-out split: a seeded shuffle, stratified by class when asked.

A seeded shuffle in numpy is all a hold-out needs; importing scikit-learn for
it would cost the split stage more than a second on every run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError


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


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    test: pd.DataFrame
    dropped: int  # rows without a target
    stratified: bool


def split_frame(
    frame: pd.DataFrame, target: str, *, test_size: float, seed: int, stratify: bool
) -> Split:
    """Drop rows with no target, then hold out a test set (by class when `stratify`)."""
    unlabeled = frame[target].isna()
    if unlabeled.any():
        frame = frame[~unlabeled].reset_index(drop=True)
    labels = None
    if stratify:
        labels = frame[target]
        counts = labels.value_counts()
        if counts.min() < 2:
            raise DataError(
                f"class '{counts.idxmin()}' of {target!r} has a single row, too few "
                "to stratify; add data or set split.stratify to false in params.yaml"
            )
    train_rows, test_rows = holdout(len(frame), test_size, seed, labels)
    return Split(frame.iloc[train_rows], frame.iloc[test_rows], int(unlabeled.sum()), stratify)
