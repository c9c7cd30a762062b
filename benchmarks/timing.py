"""The one timing helper of the benchmarks, shared by run.py and inproject.py.

It needs nothing but the standard library, because inproject.py runs inside the
baked project's environment, which has none of the template's tools.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_time(action: Callable[[], object], repeat: int) -> float:
    """The median wall time of `repeat` calls of `action`, in seconds."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)
