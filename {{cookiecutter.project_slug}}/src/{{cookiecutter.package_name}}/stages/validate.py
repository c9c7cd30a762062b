"""validate: the data gate. Check data against the GX suite; exit 1 if any expectation fails.

Without --data it checks the ingested data (paths.raw) and what training needs of
it (core.features.training_problems), and writes the reports that dvc.yaml
declares; `split` depends on them, so a failure stops the pipeline before a
model is trained. With --data it checks any CSV or Parquet
batch with the same suite and writes reports only where asked.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from ..core.features import training_problems
from ..integrations.gx import validate_frame, with_training_checks
from ..io import read_data, read_features, read_table, shown, write_json, write_text
from ..params import Params


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


@dataclass(frozen=True)
class Options:
    data: Path | None = None
    json: Path | None = None
    markdown: Path | None = None


DEFAULTS = Options()


def run(params: Params, options: Options = DEFAULTS) -> int:
    batch, json_out, markdown_out = options.data, options.json, options.markdown
    if batch is None:
        data = params.paths.raw
        json_out = json_out or params.paths.validation
        markdown_out = markdown_out or params.paths.validation_summary
    else:
        data = batch
    return validate(
        data,
        params.suite_path,
        root=params.root,
        from_pipeline=batch is None,
        json_out=json_out,
        markdown_out=markdown_out,
        training=(params.paths.features, params.task) if batch is None else None,
    )


def validate(
    data: Path,
    suite: Path,
    *,
    root: Path,
    from_pipeline: bool,
    json_out: Path | None,
    markdown_out: Path | None,
    training: tuple[Path, str] | None = None,
) -> int:
    """Check `data` (the ingested Parquet file, or any batch) with the suite file `suite`.

    With `training` (the features file and the task) it also checks what training
    needs that GX cannot express (rows per class, a target that fits the task, no
    empty feature), and reports those checks with the suite's.
    """
    frame = read_table(data, "ingest") if from_pipeline else read_data(data, f"--data {data}")
    result = validate_frame(frame, suite, data=shown(data, root))
    if training is not None:
        features_file, task = training
        features = read_features(features_file)
        problems = training_problems(frame, features, task)
        result = with_training_checks(result, problems, evaluated=1 + len(features.columns))
    if json_out is not None:
        write_json(json_out, result.to_dict())
    if markdown_out is not None:
        write_text(markdown_out, result.to_markdown())
    print(f"validate: {result.to_text()}")
    written = [shown(path, root) for path in (json_out, markdown_out) if path]
    if written:
        print(f"validate: report in {' and '.join(written)}")
    return 0 if result.success else 1
