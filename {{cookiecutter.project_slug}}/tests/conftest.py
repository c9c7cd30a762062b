"""Fixtures that run the pipeline code against scratch params files.

The unit tests are about the template's code, not about the data this project
trains on: their params take the structure of params.yaml (paths, registry,
monitoring...) but the data settings (task, data, split, model, suite, gates)
from the fixtures below, so pointing params.yaml at your own data leaves them
green. The few tests about your data (its suite, `mlops check`) read params.yaml
on purpose and say so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

PROJECT_ROOT = Path(__file__).resolve().parents[1]


# What a runner tells the code it runs in; a test that needs one of these sets it itself.
RUNNER_VARIABLES = ("GITHUB_ACTIONS", "GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH", "GITHUB_RUN_ID",
                    "GITHUB_REPOSITORY", "GITHUB_SERVER_URL", "GITHUB_API_URL", "GITHUB_TOKEN",
                    "GITHUB_SHA", "GITHUB_REF", "GITHUB_HEAD_REF", "GITHUB_BASE_REF")  # fmt: skip


@pytest.fixture(autouse=True)
def outside_the_runner(tmp_path_factory, monkeypatch):
    """Run every test as on a laptop, even inside a CI job: no runner variables, and the
    job summary and step outputs in scratch files, so no test writes its fake reports
    into the real job's summary or outputs."""
    for name in RUNNER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    scratch = tmp_path_factory.mktemp("runner")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(scratch / "summary.md"))
    monkeypatch.setenv("GITHUB_OUTPUT", str(scratch / "outputs.txt"))


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@pytest.fixture
def write_params(tmp_path, monkeypatch):
    """Write a scratch params.yaml (`fixture_params()`, with layers of overrides)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    base = fixture_params()

    def write(*layers: dict[str, Any], **overrides: Any) -> Path:
        document = base
        for layer in (*layers, overrides):
            document = merge(document, layer)
        path = tmp_path / "params.yaml"
        path.write_text(yaml.safe_dump(document), encoding="utf-8")
        return path

    return write


# The data settings of the two demo data sets, complete, so no key of the user's
# `data:` (their target, feature lists, kept columns, positive class) leaks in.
DEMO_DATA = {
    "target": "target",
    "numeric_features": None,
    "categorical_features": None,
    "keep_columns": [],
}
REGRESSION = {
    "task": "regression",
    "data": {**DEMO_DATA, "source": "sklearn:diabetes"},
    "split": {"stratify": False},
    "model": {"type": "ridge", "hyperparameters": {"ridge": {"alpha": 1.0}}},
    "validation": {"suite": "diabetes"},
    # The shipped gates of a regression project, so either project tests both tasks.
    "gates": {
        "rmse": {"direction": "lower", "rel_tolerance": 0.02},
        "mae": {"direction": "lower", "rel_tolerance": 0.02},
        "r2": {"direction": "higher", "abs_tolerance": 0.01, "min": 0.2},
    },
}
CLASSIFICATION = {
    "task": "classification",
    "data": {**DEMO_DATA, "source": "sklearn:breast_cancer", "positive_class": None},
    "split": {"stratify": True},
    "model": {
        "type": "logistic_regression",
        "hyperparameters": {"logistic_regression": {"C": 1.0, "max_iter": 1000}},
    },
    "validation": {"suite": "breast_cancer"},
    "gates": {
        "roc_auc": {"direction": "higher", "abs_tolerance": 0.01, "min": 0.7},
        "f1": {"direction": "higher", "abs_tolerance": 0.01, "min": 0.5},
        "accuracy": {"direction": "higher", "abs_tolerance": 0.01},
        "precision": {"direction": "higher", "abs_tolerance": 0.02, "gate": False},
        "recall": {"direction": "higher", "abs_tolerance": 0.02, "gate": False},
    },
}
TASKS = {"classification": CLASSIFICATION, "regression": REGRESSION}


def fixture_params() -> dict[str, Any]:
    """params.yaml with its data settings (task, data, suite, gates) replaced by those of
    the demo data set of its task, and that data set's split and model laid over it."""
    document = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text(encoding="utf-8"))
    demo = TASKS.get(document.get("task"), CLASSIFICATION)
    for section in ("task", "data", "gates"):
        document[section] = demo[section]
    return merge(document, {key: demo[key] for key in ("split", "model", "validation")})


@pytest.fixture
def mixed_csv(tmp_path) -> Path:
    """A data set the template does not ship: numbers, categories and missing values."""
    rng = np.random.default_rng(7)
    rows = 300
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, rows).astype(float),
            "income": rng.normal(50_000, 12_000, rows).round(2),
            "plan": rng.choice(["basic", "plus", "premium"], rows),
            "region": rng.choice(["north", "south", "east", "west"], rows),
        }
    )
    frame["churned"] = ((frame["plan"] == "basic") & (frame["age"] < 40)).astype(int)
    frame["spend"] = frame["income"] * 0.01 + rng.normal(0, 20, rows)
    frame.loc[rng.choice(rows, 25, replace=False), "income"] = np.nan
    frame.loc[rng.choice(rows, 25, replace=False), "plan"] = None
    path = tmp_path / "data" / "input" / "customers.csv"
    path.parent.mkdir(parents=True)
    frame.to_csv(path, index=False)
    return path
