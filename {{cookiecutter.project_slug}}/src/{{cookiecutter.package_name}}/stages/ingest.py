"""ingest: load the configured source, resolve the feature columns, write the raw data."""

from __future__ import annotations

from pathlib import Path

from ..core.features import resolve_features
from ..io import read_source, shown, write_features, write_table
from ..params import DataParams, Params


def run(params: Params) -> None:
    ingest(
        params.data,
        params.root,
        raw_out=params.paths.raw,
        features_out=params.paths.features,
    )


def ingest(data: DataParams, root: Path, *, raw_out: Path, features_out: Path) -> None:
    # An empty source is written as is: the validate stage reports it (row count).
    frame = read_source(data.source, root, data.target)
    features = resolve_features(frame, data)
    write_table(frame, raw_out)
    write_features(features, features_out)
    note = features.exclusion_note()
    if note:
        print(f"ingest: {note}")
    print(
        f"ingest: {len(frame)} rows x {frame.shape[1]} columns from {data.source} "
        f"({len(features.numeric)} numeric, {len(features.categorical)} categorical features) "
        f"-> {shown(raw_out, root)}"
    )
