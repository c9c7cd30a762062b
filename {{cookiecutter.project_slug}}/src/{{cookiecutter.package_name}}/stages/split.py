"""split: hold out a seeded test set, stratified by class when asked."""

from __future__ import annotations

from pathlib import Path

from ..core.split import split_frame
from ..io import read_features, read_table, write_table
from ..params import Params, SplitParams


def run(params: Params) -> None:
    split(
        params.paths.raw,
        params.paths.features,
        params.split,
        params.task == "classification",
        train_out=params.paths.train,
        test_out=params.paths.test,
    )


def split(
    raw: Path,
    features_file: Path,
    settings: SplitParams,
    classification: bool,
    *,
    train_out: Path,
    test_out: Path,
) -> None:
    frame = read_table(raw, "ingest")
    target = read_features(features_file).target
    result = split_frame(
        frame,
        target,
        test_size=settings.test_size,
        seed=settings.seed,
        stratify=settings.stratify and classification,
    )
    if result.dropped:
        print(f"split: dropping {result.dropped} rows with no {target!r}")
    write_table(result.train, train_out)
    write_table(result.test, test_out)
    print(
        f"split: {len(result.train)} train rows, {len(result.test)} test rows "
        f"(seed {settings.seed}{', stratified' if result.stratified else ''})"
    )
