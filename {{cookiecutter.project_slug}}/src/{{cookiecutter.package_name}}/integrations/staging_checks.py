"""Staging checks of a staged model, served over HTTP from the registry.

`mlops deploy` runs them after the staging alias moved and before production does:
the input example must be answered, the p95 latency of one-row requests must stay
within `registry.latency_budget_ms`, and the served model's metrics on the held-out
rows (paths.test) must match metrics.json within `registry.metrics_tolerance`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.features import model_inputs
from ..core.latency import Latency, metric_mismatches, summarize
from ..core.metrics import score
from ..errors import ProjectError
from ..io import read_features, read_table
from ..params import Params
from . import serving

BATCH_ROWS = 500
# Metrics computed from class probabilities: the served model answers labels only.
PROBABILITY_METRICS = frozenset({"roc_auc"})


class StagingCheckError(ProjectError):
    """The staged model served, but not as the release requires."""


@dataclass(frozen=True)
class Outcome:
    predictions: int
    latency: Latency
    metrics: dict[str, float]


def _post(url: str, payload: dict[str, Any], timeout: float = 60) -> list:
    try:
        return serving.predict(url, payload, timeout)
    except serving.SmokeTestError as error:
        raise StagingCheckError(str(error)) from None


def one_row(example: dict[str, Any]) -> dict[str, Any]:
    """The first row of a `dataframe_split` input example, as its own payload."""
    split = example.get("dataframe_split")
    if not isinstance(split, dict) or not split.get("data"):
        return example
    return {"dataframe_split": {**split, "data": split["data"][:1]}}


def time_requests(url: str, payload: dict[str, Any], count: int) -> Latency:
    durations = []
    for _ in range(count):
        started = time.perf_counter()
        _post(url, payload)
        durations.append(time.perf_counter() - started)
    return summarize(durations)


class _Served:
    """The served model in the shape core.metrics.score expects (labels only)."""

    def __init__(self, predictions: list, classes: list | None):
        self.predictions = np.asarray(predictions)
        self.classes_: list = classes or []

    def predict(self, inputs):
        return self.predictions

    def predict_proba(self, inputs):  # one-hot: probability metrics are not compared
        rows = [[float(p == c) for c in self.classes_] for p in self.predictions]
        return np.asarray(rows)


def held_out_metrics(url: str, params: Params) -> dict[str, float]:
    """Score the served model's answers on the held-out rows, as `evaluate` scores it."""
    test = read_table(params.paths.test, "split")
    features = read_features(params.paths.features)
    inputs = model_inputs(test, features)
    predictions: list = []
    for start in range(0, len(inputs), BATCH_ROWS):
        batch = inputs.iloc[start : start + BATCH_ROWS]
        split = json.loads(batch.to_json(orient="split", index=False))
        predictions += _post(url, {"dataframe_split": split})
    target = test[features.target]
    classes = sorted(target.unique().tolist()) if params.task == "classification" else None
    scores = score(
        _Served(predictions, classes),
        inputs,
        target,
        params.task,
        positive_class=params.data.positive_class,
    ).scores
    return {name: value for name, value in scores.items() if name not in PROBABILITY_METRICS}


def run(params: Params, model_uri: str, env: dict[str, str], say: Callable[[str], None]) -> Outcome:
    """Serve `model_uri` (the staging alias) on loopback and run every staging check."""
    from ..io import read_metrics

    registry = params.registry
    with serving.served(model_uri, registry.serve_timeout, env=env) as url:
        example = serving.load_example(params.paths.model / serving.INPUT_EXAMPLE)
        try:
            answered = serving.smoke_test(url, params.paths.model / serving.INPUT_EXAMPLE)
        except serving.SmokeTestError as error:
            raise StagingCheckError(str(error)) from None
        say(f"  input example: {len(answered)} predictions")
        latency = time_requests(url, one_row(example), registry.latency_requests)
        say(f"  latency: {latency.explain()}")
        if not latency.p95_ms <= registry.latency_budget_ms:
            raise StagingCheckError(
                f"the p95 latency {latency.p95_ms:.1f} ms is over the budget of "
                f"{registry.latency_budget_ms:g} ms (registry.latency_budget_ms)"
            )
        served = held_out_metrics(url, params)
    recorded = read_metrics(params.paths.metrics, hint="run `dvc repro` and commit it")
    problems = metric_mismatches(recorded, served, registry.metrics_tolerance)
    if problems:
        raise StagingCheckError(
            f"the served model's metrics on {params.paths.test.name} do not match "
            f"{params.paths.metrics.name}: " + "; ".join(problems)
        )
    shown = ", ".join(f"{name}={value:.4f}" for name, value in served.items())
    say(f"  held-out rows: {shown} (match {params.paths.metrics.name})")
    return Outcome(predictions=len(answered), latency=latency, metrics=served)
