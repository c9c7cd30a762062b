"""validate: the data gate. Check data against the GX suite; exit 1 if any expectation fails.

Without --data it checks the ingested data (paths.raw) and writes the reports
that dvc.yaml declares; `split` depends on them, so a failure stops the
pipeline before a model is trained. With --data it checks any CSV or Parquet
batch with the same suite and writes reports only where asked.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..data import read_data_file, read_table
from ..files import atomic_path, shown, write_json
from ..params import Params
from ..validation import validate_frame


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        help="a CSV or Parquet batch to check instead of the ingested data (paths.raw)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        help="write the result as JSON here (default: paths.validation, without --data)",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        help="write a markdown summary here (default: paths.validation_summary, without --data)",
    )


def run(params: Params, args: argparse.Namespace | None = None) -> int:
    batch = getattr(args, "data", None)
    json_path = getattr(args, "json", None)
    markdown_path = getattr(args, "markdown", None)
    if batch is None:
        frame = read_table(params.paths.raw, "ingest")
        label = shown(params.paths.raw, params.root)
        json_path = json_path or params.paths.validation
        markdown_path = markdown_path or params.paths.validation_summary
    else:
        frame = read_data_file(batch)
        label = shown(batch.resolve(), params.root)

    result = validate_frame(frame, params, data=label)
    if json_path is not None:
        write_json(json_path, result.to_dict())
    if markdown_path is not None:
        with atomic_path(markdown_path) as staged:
            staged.write_text(result.to_markdown(), encoding="utf-8")
    print(f"validate: {result.to_text()}")
    written = [shown(path, params.root) for path in (json_path, markdown_path) if path]
    if written:
        print(f"validate: report in {' and '.join(written)}")
    return 0 if result.success else 1
