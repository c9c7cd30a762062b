"""The scale benchmark's helpers that run inside a baked project's environment (see run.py).

Usage: <project>/.venv/bin/python scale.py make ROWS PATH   write the synthetic data set
       <project>/.venv/bin/python scale.py floor PATH       the pipeline's work in one process

The data set has the shape the pipeline is built for: numeric columns on different
scales, low-cardinality text columns, missing values in both, and a binary target.
`floor` does what ingest, split, train and evaluate do (no GX, no MLflow, no DVC)
in one process and prints its wall time and peak memory as JSON.
"""

from __future__ import annotations

import json
import resource
import sys
import time

import numpy as np
import pandas as pd

NUMERIC = 8
CATEGORIES = {"region": 6, "plan": 4, "channel": 12}
MISSING = 0.05
SEED = 7


def make(rows: int, path: str) -> None:
    rng = np.random.default_rng(SEED)
    frame = pd.DataFrame(
        {f"x{i}": rng.normal(i, 1 + i, rows) for i in range(NUMERIC)}
        | {
            name: rng.choice([f"{name}_{j}" for j in range(n)], rows)
            for name, n in CATEGORIES.items()
        }
    )
    signal = frame["x0"] - 0.5 * frame["x1"] / 2 + (frame["plan"] == "plan_1") * 1.5
    frame["target"] = (signal + rng.normal(0, 1, rows) > 0.2).astype("int64")
    for column in ["x0", "x3", "x5", "region", "channel"]:
        frame.loc[rng.random(rows) < MISSING, column] = None
    frame.to_parquet(path, index=False)


def floor(path: str) -> None:
    started = time.perf_counter()
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = pd.read_parquet(path)
    y = frame.pop("target")
    order = np.random.default_rng(42).permutation(len(frame))
    cut = int(len(frame) * 0.8)
    train, test = order[:cut], order[cut:]
    numeric = [c for c in frame.columns if c.startswith("x")]
    categorical = list(CATEGORIES)
    model = Pipeline(
        [
            (
                "pre",
                ColumnTransformer(
                    [
                        (
                            "num",
                            Pipeline(
                                [
                                    ("impute", SimpleImputer(strategy="median")),
                                    ("scale", StandardScaler()),
                                ]
                            ),
                            numeric,
                        ),
                        (
                            "cat",
                            Pipeline(
                                [
                                    ("impute", SimpleImputer(strategy="most_frequent")),
                                    ("onehot", OneHotEncoder(handle_unknown="ignore")),
                                ]
                            ),
                            categorical,
                        ),
                    ]
                ),
            ),
            ("estimator", LogisticRegression(max_iter=1000)),
        ]
    ).fit(frame.iloc[train], y.iloc[train])
    scores = model.predict_proba(frame.iloc[test])[:, 1]
    accuracy_score(y.iloc[test], scores > 0.5)
    roc_auc_score(y.iloc[test], scores)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_mb}))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(int(sys.argv[2]), sys.argv[3])
    else:
        floor(sys.argv[2])
