"""gate: fail when a metric regressed beyond its tolerance against the baseline revision.

It judges with the same inputs and rules as `mlops report`, and runs after the
report is posted, so a failing pull request still gets its comment.
"""

from __future__ import annotations

import argparse
import sys

from ..core.report import comparisons, verdict
from ..params import Params
from .report import gather


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--baseline",
        help="git revision to compare with (default: report.baseline in params.yaml)",
    )


def run(params: Params, args: argparse.Namespace) -> int:
    inputs = gather(params, getattr(args, "baseline", None))
    passed, first_line = verdict(inputs)
    print(first_line.removeprefix("## "))
    if passed:
        return 0
    print(
        "These metrics fail their rule in params.yaml `gates`:",
        file=sys.stderr,
    )
    for comparison in comparisons(inputs) or []:
        if comparison.fails:
            print(f"  - {comparison.explain()}", file=sys.stderr)
    return 1
