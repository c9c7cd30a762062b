"""split: hold out a seeded test set, stratified by class when asked."""

from __future__ import annotations

from sklearn.model_selection import train_test_split

from ..data import Features, read_table, write_table
from ..errors import DataError
from ..params import Params


def run(params: Params, args: object = None) -> None:
    frame = read_table(params.paths.raw, "ingest")
    features = Features.load(params.paths.features)
    unlabeled = frame[features.target].isna()
    if unlabeled.any():
        print(f"split: dropping {int(unlabeled.sum())} rows with no {features.target!r}")
        frame = frame[~unlabeled]
    stratify = None
    if params.split.stratify and params.task == "classification":
        smallest = frame[features.target].value_counts().min()
        if smallest < 2:
            raise DataError(
                f"a class of {features.target!r} has a single row, too few to stratify; "
                "add data or set split.stratify to false in params.yaml"
            )
        stratify = frame[features.target]
    try:
        train, test = train_test_split(
            frame,
            test_size=params.split.test_size,
            random_state=params.split.seed,
            stratify=stratify,
        )
    except ValueError as error:
        raise DataError(
            f"cannot split {len(frame)} rows: {error}; adjust split.test_size"
        ) from None
    write_table(train, params.paths.train)
    write_table(test, params.paths.test)
    print(f"split: {len(train)} train rows, {len(test)} test rows (seed {params.split.seed})")
