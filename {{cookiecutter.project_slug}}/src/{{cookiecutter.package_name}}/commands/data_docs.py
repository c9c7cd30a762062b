"""data-docs: render GX Data Docs for the suite and the data, as local HTML pages.

The pages go to the git-ignored gx/uncommitted/ folder. They load their
styles and scripts from public CDNs, so they look bare when opened offline.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from ..integrations.gx import build_data_docs
from ..io import read_data, read_table
from ..params import Params


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        help="a CSV or Parquet batch to document instead of the ingested data (paths.raw)",
    )


@dataclass(frozen=True)
class Options:
    data: Path | None = None


DEFAULTS = Options()


def run(params: Params, options: Options = DEFAULTS) -> None:
    batch = options.data
    frame = (
        read_table(params.paths.raw, "ingest")
        if batch is None
        else read_data(batch, f"--data {batch}")
    )
    index = build_data_docs(frame, params)
    print(f"data-docs: open {index}")
