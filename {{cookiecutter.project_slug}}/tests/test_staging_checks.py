"""The pure parts of staging: latency figures, metric matching, KServe manifests."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }}.core.latency import metric_mismatches, summarize
from {{ cookiecutter.package_name }}.integrations.kserve import manifest, service_name, storage_uri


def test_latency_percentiles_and_throughput():
    latency = summarize([0.010] * 90 + [0.100] * 10)
    assert latency.requests == 100
    assert latency.p50_ms == pytest.approx(10.0)
    assert latency.p95_ms == pytest.approx(100.0)
    assert latency.throughput_rps == pytest.approx(100 / 1.9)
    assert latency.tags()["latency.p95_ms"] == "100.000"
    with pytest.raises(ValueError):
        summarize([])


def test_metrics_of_the_served_model_must_match_within_the_tolerance():
    recorded = {"rmse": 50.0, "r2": 0.4}
    assert metric_mismatches(recorded, {"rmse": 50.0 + 1e-9}, 1e-6) == []
    problems = metric_mismatches(recorded, {"rmse": 51.0, "mae": 3.0}, 1e-6)
    assert [line.split(":")[0] for line in problems] == ["mae", "rmse"]
    assert "not in the recorded metrics" in problems[0]
    assert metric_mismatches(recorded, {"r2": float("nan")}, 1.0) != []


def test_proxied_artifact_locations_map_to_the_destination():
    destination = "s3://bucket/mlflow/"
    located = storage_uri("mlflow-artifacts:/1/models/m-1/artifacts", destination)
    assert located == "s3://bucket/mlflow/1/models/m-1/artifacts"
    assert storage_uri("mlflow-artifacts://host:5000/2/x", "gs://b") == "gs://b/2/x"
    assert storage_uri("s3://other/path", destination) == "s3://other/path"
    assert storage_uri("file:///tmp/mlartifacts/1/x", destination) is None
    assert storage_uri("mlflow-artifacts:/1/x", "/home/me/mlartifacts") is None


def test_manifest_is_an_inference_service_with_a_dns_name():
    assert service_name("My_Model.v2", "staging") == "my-model-v2-staging"
    assert service_name("3d", "production") == "m-3d-production"
    document = manifest("my-model", "production", "4", "s3://b/p", {"git_commit": "abc"})
    assert document["kind"] == "InferenceService"
    model = document["spec"]["predictor"]["model"]
    assert model == {
        "modelFormat": {"name": "mlflow"},
        "protocolVersion": "v2",
        "storageUri": "s3://b/p",
    }
    assert document["metadata"]["annotations"]["mlops.registry/version"] == "4"
    assert document["metadata"]["annotations"]["mlops.registry/git-commit"] == "abc"
