"""ingest: load the configured source, resolve the feature columns, write the raw data."""

from __future__ import annotations

from ..data import read_source, resolve_features, write_table
from ..params import Params


def run(params: Params, args: object = None) -> None:
    # An empty source is written as is: the validate stage reports it (row count).
    frame = read_source(params.data.source, params.root, params.data.target)
    frame.columns = [str(column) for column in frame.columns]
    features = resolve_features(frame, params.data)
    write_table(frame, params.paths.raw)
    features.save(params.paths.features)
    print(
        f"ingest: {len(frame)} rows x {frame.shape[1]} columns from {params.data.source} "
        f"({len(features.numeric)} numeric, {len(features.categorical)} categorical features) "
        f"-> {params.paths.raw.relative_to(params.root)}"
    )
