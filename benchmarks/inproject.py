"""Measurements that run inside a baked project's environment (called by run.py).

Usage: <project>/.venv/bin/python inproject.py PACKAGE ROWS REPEAT
Prints one JSON object: validation and drift of ROWS x 30 features against their
floors, and serving latency against an in-process predict.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from timing import median_time


def big_frame(raw: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """ROWS rows resampled from the data, with a little noise on the numbers.

    The suite's ranges have a 10% margin, so the noise keeps the values inside them.
    """
    rng = np.random.default_rng(seed)
    frame = raw.sample(n=rows, replace=True, random_state=seed).reset_index(drop=True)
    for column in frame.columns:
        if column != "target":
            frame[column] = frame[column] * (1 + rng.normal(0, 0.01, rows))
    return frame


def pandas_floor(frame: pd.DataFrame, suite: dict) -> int:
    """The suite's checks written directly in pandas: how many fail."""
    failed = 0
    for expectation in suite["expectations"]:
        kind, kwargs = expectation["type"], expectation["kwargs"]
        column = frame[kwargs["column"]] if "column" in kwargs else None
        if kind == "expect_table_columns_to_match_set":
            ok = set(frame.columns) == set(kwargs["column_set"])
        elif kind == "expect_table_row_count_to_be_between":
            ok = kwargs["min_value"] <= len(frame) <= kwargs["max_value"]
        elif kind == "expect_column_values_to_not_be_null":
            ok = not column.isna().any()
        elif kind == "expect_column_values_to_be_between":
            ok = bool(column.between(kwargs["min_value"], kwargs["max_value"]).all())
        elif kind == "expect_column_values_to_be_in_set":
            ok = bool(column.isin(kwargs["value_set"]).all())
        elif kind in (
            "expect_column_values_to_be_in_type_list",
            "expect_column_values_to_be_of_type",
        ):
            ok = str(column.dtype) in kwargs.get("type_list", [kwargs.get("type_")])
        else:
            ok = True
        failed += not ok
    return failed


def suite_for_rows(params, rows: int, scratch: Path):
    """params pointing at a copy of the suite whose row-count band admits ROWS rows."""
    suite = json.loads(params.suite_path.read_text())
    for expectation in suite["expectations"]:
        if expectation["type"] == "expect_table_row_count_to_be_between":
            expectation["kwargs"].update(min_value=rows // 2, max_value=rows * 2)
    copy = scratch / "gx"
    (copy / "expectations").mkdir(parents=True)
    (copy / "expectations" / params.suite_path.name).write_text(json.dumps(suite))
    sized = dataclasses.replace(params, paths=dataclasses.replace(params.paths, gx=copy))
    return sized, suite


def main() -> int:
    package, rows, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    params_module = importlib.import_module(f"{package}.params")
    data = importlib.import_module(f"{package}.core.features")
    project_io = importlib.import_module(f"{package}.io")
    params = params_module.load_params("params.yaml")
    raw = pd.read_parquet(params.paths.raw)
    frame = big_frame(raw, rows, seed=1)
    features = project_io.read_features(params.paths.features)
    out: dict = {"rows": rows, "features": len(features.columns)}

    started = time.perf_counter()
    validation = importlib.import_module(f"{package}.integrations.gx")
    import great_expectations  # noqa: F401

    out["gx_import_s"] = time.perf_counter() - started
    validation.validate_frame(frame.head(1000), params.suite_path)  # warm GX's registries
    with tempfile.TemporaryDirectory() as scratch:
        sized, suite = suite_for_rows(params, rows, Path(scratch))
        result = validation.validate_frame(frame, sized.suite_path)
        if not result.success:
            raise SystemExit(f"the benchmark frame should pass the suite: {result.to_text()}")
        out["validation_s"] = median_time(
            lambda: validation.validate_frame(frame, sized.suite_path), repeat
        )
        out["validation_floor_s"] = median_time(lambda: pandas_floor(frame, suite), repeat)
    # The shipped suite's row-count band fails a million rows: the path that also
    # collects counts and examples for the report.
    out["validation_failing_s"] = median_time(
        lambda: validation.validate_frame(frame, params.suite_path), repeat
    )

    drift = importlib.import_module(f"{package}.core.drift")
    train = pd.read_parquet(params.paths.train)
    batch = big_frame(train, rows, seed=2)
    reference = big_frame(train, rows, seed=3)
    out["drift_profile_s"] = median_time(
        lambda: drift.ReferenceProfile.build(reference, features, params.monitoring.psi_bins), 1
    )
    profile = drift.ReferenceProfile.build(reference, features, params.monitoring.psi_bins)
    out["drift_s"] = median_time(lambda: drift.detect(profile, batch, params.monitoring), repeat)

    def scipy_loop() -> None:
        for column in features.numeric:
            stats.ks_2samp(reference[column].to_numpy(), batch[column].to_numpy())

    out["drift_floor_s"] = median_time(scipy_loop, repeat)

    serving = importlib.import_module(f"{package}.integrations.serving")
    import mlflow.sklearn

    model = mlflow.sklearn.load_model(str(params.paths.model))
    one_row = data.model_inputs(raw.head(1), features)
    in_process = []
    for _ in range(200):
        started = time.perf_counter()
        model.predict(one_row)
        in_process.append(time.perf_counter() - started)
    body = json.dumps({"dataframe_split": one_row.to_dict(orient="split")}).encode()
    latencies = []
    with serving.served(str(Path(params.paths.model).resolve()), timeout=180) as url:
        for _ in range(200):
            request = urllib.request.Request(
                f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}
            )
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
            latencies.append(time.perf_counter() - started)
    out["serve_p50_s"] = float(np.percentile(latencies, 50))
    out["serve_p95_s"] = float(np.percentile(latencies, 95))
    out["predict_p50_s"] = float(np.percentile(in_process, 50))
    out["predict_p95_s"] = float(np.percentile(in_process, 95))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
