"""The release flow of a storage=s3 project on a laptop stack: `mlops stack up --local-s3`
runs moto (S3-compatible) and a real `mlflow server` on 127.0.0.1, and the project
releases through staging and staging checks to production, with KServe manifests
that point at the released bytes in the bucket.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from ..conftest import run
from ..kserve_schema import problems
from .scenario import Scenario

pytestmark = pytest.mark.slow


def read_env_file(path: Path) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in path.read_text().splitlines() if "=" in line]
    return {key: value for key, value in pairs if not key.startswith("#")}


def released_bytes(uri: str, endpoint: str) -> dict[str, str]:
    """Relative path -> md5 of every object under an s3:// prefix."""
    import boto3

    parsed = urlparse(uri)
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        region_name="us-east-1",
    )
    prefix = parsed.path.lstrip("/").rstrip("/") + "/"
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=parsed.netloc, Prefix=prefix
    ):
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=parsed.netloc, Key=item["Key"])["Body"].read()
            found[item["Key"].removeprefix(prefix)] = hashlib.md5(body).hexdigest()
    return found


def local_bytes(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.md5(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_s3_release_through_staging_to_production(scenario):
    release: Scenario = scenario(task="regression", storage="s3")
    project = release.project
    up = release.mlops("stack", "up", "--local-s3", "--port", "0")
    assert "created bucket s3://my-ml-project-mlops" in up.stdout
    stack = read_env_file(project / ".stack.env")
    endpoint = stack["AWS_ENDPOINT_URL"]
    assert urlparse(endpoint).hostname == urlparse(stack["MLFLOW_TRACKING_URI"]).hostname
    assert urlparse(endpoint).hostname == "127.0.0.1"
    release.env.update(stack, CI="")
    sh, registry, set_param = release.sh, release.registry, release.set_param
    repro_and_commit = release.repro_and_commit

    def manifest(alias: str) -> dict:
        document = yaml.safe_load((project / "deploy" / "kserve" / f"{alias}.yaml").read_text())
        assert problems(document) == [], problems(document)
        return document

    try:
        # Release 1: staged, its staging checks passed over HTTP, promoted.
        repro_and_commit("alpha 1")
        first = sh("mlops", "deploy")
        assert "staging checks passed on version 1 ('staging')" in first.stdout
        assert "latency: p50" in first.stdout
        state = registry()
        assert state["aliases"] == {"production": "1", "staging": "1"}
        tags = state["versions"]["1"]["tags"]
        assert tags["staging_checks"] == "passed"
        assert float(tags["latency.p95_ms"]) >= float(tags["latency.p50_ms"]) > 0
        assert float(tags["latency.throughput_rps"]) > 0 and tags["latency.requests"] == "50"
        cloud = sh("dvc", "status", "--cloud", "--json")
        assert json.loads(cloud.stdout) == {}, "the deploy pushes every output to the bucket"

        # The manifests: InferenceServices (KServe's schema) pointing at the released bytes.
        production = manifest("production")
        model = production["spec"]["predictor"]["model"]
        assert model["modelFormat"] == {"name": "mlflow"} and model["protocolVersion"] == "v2"
        assert model["storageUri"].startswith("s3://my-ml-project-mlops/mlflow/")
        assert production["metadata"]["annotations"]["mlops.registry/version"] == "1"
        assert released_bytes(model["storageUri"], endpoint) == local_bytes(
            project / "models" / "model"
        )
        assert manifest("staging")["spec"] == production["spec"]

        # Release 2, a better model: production moves, the outgoing version keeps previous.
        set_param("alpha", "1.0", "10.0")
        repro_and_commit("alpha 10")
        sh("mlops", "deploy")
        state = registry()
        assert state["aliases"] == {"production": "2", "previous": "1", "staging": "2"}
        second_uri = manifest("production")["spec"]["predictor"]["model"]["storageUri"]
        assert second_uri != model["storageUri"]
        assert released_bytes(second_uri, endpoint) == local_bytes(project / "models" / "model")

        # A worse model: refused by the champion gate, nothing registered.
        set_param("alpha", "10.0", "1000.0")
        repro_and_commit("alpha 1000")
        worse = sh("mlops", "deploy", check=False)
        assert worse.returncode == 1 and "refused: the candidate fails the gate" in worse.stdout
        assert registry() == state

        # A candidate that passes the gate but not the staging checks (a latency
        # budget of 0 ms): staged and tagged as failed; production stays on version 2.
        set_param("alpha", "1000.0", "9.5")
        set_param("latency_budget_ms", "500", "0")
        repro_and_commit("alpha 9.5, no latency budget")
        failed = sh("mlops", "deploy", check=False)
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "refused: the staging checks failed on version 3" in failed.stdout
        assert "is over the budget of 0 ms" in failed.stdout
        assert "'production' stays on version 2" in failed.stdout
        state = registry()
        assert state["aliases"] == {"production": "2", "previous": "1", "staging": "3"}
        assert state["versions"]["3"]["tags"]["staging_checks"] == "failed"
        assert manifest("production")["spec"]["predictor"]["model"]["storageUri"] == second_uri

        # Rollback: production back to version 1, and its manifest with it.
        rolled = sh("mlops", "rollback")
        assert "after: 'production' -> version 1; 'previous' -> version 2" in rolled.stdout
        assert registry()["aliases"]["production"] == "1"
        assert (
            manifest("production")["spec"]["predictor"]["model"]["storageUri"]
            == (model["storageUri"])
        )

        # A fresh clone gets every output from the bucket.
        clone = project.parent / "fresh-clone"
        run(["git", "clone", "-q", str(project), str(clone)], cwd=project.parent)
        sh("dvc", "remote", "modify", "--local", "storage", "endpointurl", endpoint, cwd=clone)
        assert not (clone / "models" / "model").exists()
        sh("dvc", "pull", cwd=clone)
        assert json.loads(sh("dvc", "status", "--json", cwd=clone).stdout) == {}
        assert local_bytes(clone / "models" / "model") == local_bytes(project / "models" / "model")
    finally:
        down = sh("mlops", "stack", "down", check=False)
    assert down.returncode == 0, down.stderr
    assert not (project / ".stack.env").exists()
