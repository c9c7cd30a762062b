"""Files in and out: the one reader of data files, writers that never leave half a file, and
how a path is shown in a message.

pandas is imported inside the functions that read or write frames, so light commands
(`report`, `gate`, `comment`) that only write text pay nothing for it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .core.dotted import numbers
from .errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from .core.features import Features

# Data files the project reads and writes, by suffix.
DATA_SUFFIXES = (".csv", ".parquet", ".pq")


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a scratch path beside `target`; move it into place only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    staged = scratch / target.name
    try:
        yield staged
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(staged, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def write_text(path: Path, text: str) -> None:
    with atomic_path(Path(path)) as staged:
        staged.write_text(text, encoding="utf-8")


def write_json(path: Path, payload: Any) -> None:
    write_text(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_optional_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from a file, or None when the file is missing or is not one."""
    try:
        document = read_json(path)
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return document if isinstance(document, dict) else None


def read_metrics(path: Path, hint: str = "run `dvc repro evaluate`") -> dict[str, float]:
    """metrics.json as dotted metric names and numbers (nested sections flattened)."""
    try:
        document = read_json(path)
    except FileNotFoundError:
        raise DataError(f"{path} is missing; {hint}") from None
    except json.JSONDecodeError as error:
        raise DataError(f"{path} is not valid JSON ({error}); {hint}") from None
    return numbers(document)


def file_md5(path: Path) -> str:
    """The MD5 that DVC records for a file in dvc.lock."""
    digest = hashlib.md5()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def shown(path: Path | str, root: Path) -> str:
    """A path as people see it in messages: relative to the project root when inside it."""
    absolute = Path(os.path.abspath(path))
    return (absolute.relative_to(root) if absolute.is_relative_to(root) else Path(path)).as_posix()


def _reader(suffix: str):
    import pandas as pd

    return pd.read_csv if suffix == ".csv" else pd.read_parquet


def read_data(path: Path, what: str, missing_hint: str = "fix the path") -> pd.DataFrame:
    """A CSV or Parquet file with string column names; `what` names it in every error.

    `what` reads as the subject of a sentence, e.g. "--data customers.csv".
    """
    suffix = path.suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise DataError(f"{what}: not a .csv or .parquet file; convert it or fix the path")
    if not path.is_file():
        raise DataError(f"{what}: file not found; {missing_hint}")
    try:
        frame = _reader(suffix)(path)
    except Exception as error:  # the readers raise many types; all mean "unreadable"
        raise DataError(f"{what}: could not read it ({error}); check the file's format") from None
    frame.columns = [str(column) for column in frame.columns]
    return frame


def read_source(source: str, root: Path, target: str) -> pd.DataFrame:
    """Load `data.source`: a scikit-learn data set or a CSV/Parquet file under the project."""
    from .core.features import SKLEARN_PREFIX, load_sklearn_dataset

    if source.startswith(SKLEARN_PREFIX):
        frame = load_sklearn_dataset(source.removeprefix(SKLEARN_PREFIX), target)
        frame.columns = [str(column) for column in frame.columns]
        return frame
    return read_data(
        root / source,
        f"params.yaml `data.source` {source!r}",
        missing_hint=f"paths are relative to {root}; put the file there (and `dvc add` it), "
        "fix the path, or use `sklearn:<name>`",
    )


def write_data(frame: pd.DataFrame, path: Path) -> None:
    """A frame as CSV or Parquet, by the file's suffix."""
    suffix = path.suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise DataError(f"{path}: use a .csv or .parquet file name")
    with atomic_path(path) as staged:
        if suffix == ".csv":
            frame.to_csv(staged, index=False)
        else:
            frame.to_parquet(staged, index=False)


def read_table(path: Path, stage: str) -> pd.DataFrame:
    """An intermediate Parquet file of the pipeline; names the stage that writes it."""
    import pandas as pd

    if not path.is_file():
        raise DataError(f"{path} is missing; run `dvc repro {stage}` to create it")
    return pd.read_parquet(path)


def write_table(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as staged:
        frame.to_parquet(staged, index=False)


def read_features(path: Path) -> Features:
    """The feature columns `ingest` resolved (paths.features)."""
    from .core.features import Features

    try:
        return Features.from_dict(read_json(path))
    except FileNotFoundError:
        raise DataError(f"{path} is missing; run `dvc repro ingest` first") from None
    except (KeyError, TypeError, ValueError) as error:
        raise DataError(f"{path} is malformed ({error}); rerun `dvc repro -f ingest`") from None


def write_features(features: Features, path: Path) -> None:
    write_json(path, features.to_dict())


def write_outcomes(frame: pd.DataFrame, about: dict[str, Any], path: Path) -> None:
    """Per-row outcomes as Parquet, with `about` (task, classes) in the file's metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = {**(table.schema.metadata or {}), OUTCOMES_METADATA: json.dumps(about).encode()}
    with atomic_path(path) as staged:
        pq.write_table(table.replace_schema_metadata(metadata), staged)


def read_outcomes(path: Path) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """What `write_outcomes` wrote, or None when the file does not exist."""
    if not path.is_file():
        return None
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
        about = json.loads((table.schema.metadata or {})[OUTCOMES_METADATA])
    except (OSError, KeyError, ValueError) as error:
        raise DataError(
            f"{path} is not a per-row outcomes file ({error}); run `dvc repro evaluate`"
        ) from None
    return table.to_pandas(), about


OUTCOMES_METADATA = b"mlops.outcomes"
