"""smoke-test: post the model's input example to a serving URL and check the answer's shape."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from ..integrations import serving
from ..params import Params


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url", required=True, help="where the model is served, e.g. http://127.0.0.1:5000"
    )
    parser.add_argument(
        "--example",
        type=Path,
        help=f"serving input JSON (default: {serving.INPUT_EXAMPLE} in the model directory)",
    )
    parser.add_argument(
        "--timeout", type=_seconds, default=30, help="seconds to wait for the answer"
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


@dataclass(frozen=True)
class Options:
    url: str
    example: Path | None = None
    timeout: float = 30


def run(params: Params, options: Options) -> int:
    example = options.example or params.paths.model / serving.INPUT_EXAMPLE
    predictions = serving.smoke_test(options.url, example, timeout=options.timeout)
    print(
        f"smoke-test: {options.url}/invocations answered {len(predictions)} predictions "
        f"for the {len(predictions)} rows of {example.name}"
    )
    return 0
