"""Latency and throughput of a served model, from the times of its requests (pure)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Latency:
    requests: int
    p50_ms: float
    p95_ms: float
    throughput_rps: float  # requests answered per second, one after another

    def tags(self) -> dict[str, str]:
        """As registry version tags (strings), so the registry shows how fast it served."""
        return {
            "latency.requests": str(self.requests),
            "latency.p50_ms": f"{self.p50_ms:.3f}",
            "latency.p95_ms": f"{self.p95_ms:.3f}",
            "latency.throughput_rps": f"{self.throughput_rps:.2f}",
        }

    def explain(self) -> str:
        return (
            f"p50 {self.p50_ms:.1f} ms, p95 {self.p95_ms:.1f} ms, "
            f"{self.throughput_rps:.1f} requests/s over {self.requests} requests"
        )


def summarize(seconds: Sequence[float]) -> Latency:
    """Percentiles (linear interpolation) and sequential throughput of request durations."""
    if not seconds:
        raise ValueError("no request was timed")
    times = np.asarray(seconds, dtype=float)
    total = float(times.sum())
    return Latency(
        requests=len(times),
        p50_ms=float(np.percentile(times, 50)) * 1000,
        p95_ms=float(np.percentile(times, 95)) * 1000,
        throughput_rps=len(times) / total if total > 0 else math.inf,
    )


def metric_mismatches(
    recorded: dict[str, float], served: dict[str, float], tolerance: float
) -> list[str]:
    """One line per metric of `served` that differs from the recorded one by more than
    `tolerance` (absolute), or that was not recorded."""
    problems = []
    for name, value in sorted(served.items()):
        if name not in recorded:
            problems.append(f"{name}: served {value:.6g}, not in the recorded metrics")
        elif not abs(value - recorded[name]) <= tolerance:
            problems.append(
                f"{name}: served {value:.6g}, recorded {recorded[name]:.6g} "
                f"(difference {abs(value - recorded[name]):.3g} > {tolerance:g})"
            )
    return problems
