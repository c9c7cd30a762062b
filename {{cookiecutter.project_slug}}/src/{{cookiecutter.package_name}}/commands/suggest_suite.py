"""suggest-suite: draft a GX expectation suite from reference data, for review.

The draft comes from `core.suites`; this command reads the reference data and writes
the suite file that params.yaml names, refusing to overwrite reviewed edits.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..core.features import resolve_features
from ..core.suites import render, suggest_suite
from ..errors import DataError, ProjectError
from ..io import read_data, read_source, shown, write_text
from ..params import Params


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        help="a CSV or Parquet file to learn from (default: data.source in params.yaml)",
    )
    parser.add_argument("--force", action="store_true", help="replace the suite file if it exists")


def _reference(params: Params, path: Path | None) -> tuple[pd.DataFrame, str]:
    if path is None:
        frame = read_source(params.data.source, params.root, params.data.target)
        label = params.data.source
    else:
        frame = read_data(path, f"--data {path}")
        label = path.as_posix()
    return frame, label


@dataclass(frozen=True)
class Options:
    data: Path | None = None
    force: bool = False


DEFAULTS = Options()


def run(params: Params, options: Options = DEFAULTS) -> None:
    target_path = params.suite_path
    display = shown(target_path, params.root)
    if target_path.exists() and not options.force:
        raise ProjectError(
            f"{display} exists and may hold reviewed edits; pass --force to replace it, or set "
            "validation.suite in params.yaml to a new name for a new data set"
        )
    frame, reference = _reference(params, options.data)
    if params.data.target not in frame.columns:
        raise DataError(
            f"params.yaml `data.target`: column {params.data.target!r} is not in {reference}; "
            "fix the target or the data"
        )
    suite = suggest_suite(
        frame,
        name=params.validation.suite,
        target=params.data.target,
        task=params.task,
        settings=params.validation.suggest,
        reference=reference,
    )
    write_text(target_path, render(suite))
    if params.data.numeric_features is None:
        note = resolve_features(frame, params.data).exclusion_note()
        if note:
            print(f"suggest-suite: {note}")
    print(
        f"suggest-suite: {len(suite['expectations'])} expectations for {frame.shape[1]} columns "
        f"from {reference} ({len(frame)} rows) -> {display}\n"
        "Review it (bounds, value sets, nullability), edit what the data should promise, "
        "commit it, then run `dvc repro`."
    )
