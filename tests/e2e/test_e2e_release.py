"""Releases of a baked project through a real MLflow server on loopback, step by step.

One project is baked and installed for the module; the steps build on each
other as releases do: first deploy, a repeat, a stale and a dirty workspace, a
better model, a worse one, rollbacks, a dead server, the served production
model, a fresh clone that pulls from the DVC remote, and the local SQLite store.
"""

from __future__ import annotations

import hashlib
import json
import urllib.request

import pytest
import yaml

from ..conftest import run
from ..github_stub import TOKEN, StubGitHub, serving
from .scenario import MODEL, Scenario, Server, free_port, mlflow_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def release(scenario, tmp_path_factory):
    """A regression project and `mlflow server` (SQLite, proxied local artifacts) on loopback."""
    release = scenario(task="regression")
    started, url = mlflow_server(release.project_env, tmp_path_factory.mktemp("mlflow-server"))
    release.env.update(MLFLOW_TRACKING_URI=url, CI="")
    yield release
    started.stop()


def test_releases_gates_rollback_and_serving(release: Scenario, tmp_path):
    project, project_env = release.project, release.project_env
    server = release.env["MLFLOW_TRACKING_URI"]
    mlops, git, commit, registry = release.mlops, release.git, release.commit, release.registry
    repro_and_commit, lock_md5 = release.repro_and_commit, release.lock_md5

    def set_alpha(alpha: float) -> None:
        path = project / "params.yaml"
        current = yaml.safe_load(path.read_text())["model"]["hyperparameters"]["ridge"]["alpha"]
        release.set_param("alpha", str(current), str(alpha))

    # First release: promoted, with every provenance tag.
    first_commit = repro_and_commit("first model")
    first = mlops("deploy")
    assert "input example: 5 predictions" in first.stdout
    assert "staging checks passed on version 1 ('staging')" in first.stdout
    assert "no KServe manifest for 'production'" in first.stdout  # a local folder store
    state = registry()
    assert state["aliases"] == {"production": "1", "staging": "1"}
    tags = state["versions"]["1"]["tags"]
    metrics = json.loads((project / "metrics.json").read_text())
    train_run = json.loads((project / "models" / "train_run.json").read_text())["run_id"]
    assert tags["git_commit"] == first_commit
    assert tags["dvc_lock_md5"] == hashlib.md5((project / "dvc.lock").read_bytes()).hexdigest()
    assert tags["data_md5"] == lock_md5("data/raw/data.parquet")
    assert tags["model_md5"] == lock_md5("models/model")
    assert tags["train_run_id"] == train_run == state["versions"]["1"]["run_id"]
    assert {k: float(tags[f"metric.{k}"]) for k in metrics} == metrics
    assert tags["verified"] == "true" and tags["promoted_at"]
    assert tags["staging_checks"] == "passed" and float(tags["latency.p95_ms"]) > 0
    cloud = project_env.run(["dvc", "status", "--cloud", "--json"], cwd=project)
    assert json.loads(cloud.stdout) == {}, "the deploy must push every output to the remote"

    # The same commit again: reported, not registered twice.
    again = mlops("deploy")
    assert "already released as version 1" in again.stdout
    assert registry() == state

    # Params changed and committed without `dvc repro`: stale, refused by stage name.
    set_alpha(10.0)
    commit("alpha 10 without repro")
    stale = mlops("deploy", check=False)
    assert stale.returncode == 2
    assert "does not match dvc.lock: stage 'train'" in stale.stderr
    assert "run `dvc repro`" in stale.stderr
    assert registry() == state

    # A better model: promoted; the outgoing version keeps `previous`.
    better_commit = repro_and_commit("alpha 10")
    better = mlops("deploy")
    assert "champion gate against version 1" in better.stdout
    state = registry()
    assert state["aliases"] == {"production": "2", "previous": "1", "staging": "2"}
    assert state["versions"]["2"]["tags"]["git_commit"] == better_commit

    # A dirty workspace is refused and changes nothing.
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nlocal edit\n")
    dirty = mlops("deploy", check=False)
    assert dirty.returncode == 2
    assert "uncommitted changes (README.md)" in dirty.stderr
    git("checkout", "README.md")

    # A worse model: refused by the champion gate, naming the metric; production stays.
    set_alpha(1000.0)
    repro_and_commit("alpha 1000")
    worse = mlops("deploy", check=False)
    assert worse.returncode == 1, worse.stdout + worse.stderr
    assert "r2 regressed" in worse.stdout
    assert "refused: the candidate fails the gate on" in worse.stdout
    assert "'production' stays on version 2" in worse.stdout
    assert registry() == state

    # Rollback: back to the previous version; a missing version is refused.
    rolled = mlops("rollback")
    assert "before: 'production' -> version 2" in rolled.stdout
    assert "after: 'production' -> version 1; 'previous' -> version 2" in rolled.stdout
    missing = mlops("rollback", "--version", "9", check=False)
    assert missing.returncode == 2
    assert "version 9 of 'my-ml-project' does not exist" in missing.stderr
    state = registry()
    assert state["aliases"] == {"production": "1", "previous": "2", "staging": "2"}

    # Tracking server down, or not configured in CI: a clear error and nothing changes.
    dead = f"http://127.0.0.1:{free_port()}"
    for command in (["deploy"], ["rollback", "--version", "2"]):
        down = mlops(*command, check=False, MLFLOW_TRACKING_URI=dead)
        assert down.returncode == 2
        assert f"the MLflow tracking server {dead} is not reachable" in down.stderr
        assert "Traceback" not in down.stderr
    unset = project_env.run(["mlops", "deploy"], cwd=project, check=False, CI="true")
    assert unset.returncode == 2
    assert "MLFLOW_TRACKING_URI is not set" in unset.stderr
    assert registry() == state
    assert not (project / "mlflow.db").exists()

    # An invalid registry name is refused before anything is contacted.
    params_path = project / "params.yaml"
    original = params_path.read_text()
    params_path.write_text(original.replace(f"model_name: {MODEL}", "model_name: bad/name"))
    invalid = mlops("deploy", check=False)
    assert invalid.returncode == 2
    assert "`registry.model_name` is 'bad/name', which is not a usable registry name" in (
        invalid.stderr
    )
    params_path.write_text(original)

    # The production model, served from the registry, answers the input example.
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    serve = [
        str(project_env.venv / "bin" / "mlflow"),
        "models",
        "serve",
        "-m",
        f"models:/{MODEL}@production",
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    served = Server(
        serve,
        {**project_env.env, "MLFLOW_TRACKING_URI": server},
        tmp_path / "serve.log",
        f"{url}/ping",
    )
    try:
        example = json.loads((project / "models/model/serving_input_example.json").read_text())
        request = urllib.request.Request(
            f"{url}/invocations",
            data=json.dumps(example).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            predictions = json.loads(response.read())["predictions"]
        assert len(predictions) == len(example["dataframe_split"]["data"])
        assert all(isinstance(value, float) for value in predictions)
        smoke = mlops("smoke-test", "--url", url)
        assert "answered 5 predictions" in smoke.stdout
    finally:
        served.stop()
    refused = mlops("smoke-test", "--url", url, check=False)
    assert refused.returncode == 2 and "could not reach" in refused.stderr

    # A fresh clone of the released commit has no outputs: deploy pulls them from
    # the default DVC remote (beside the repository) and finds the release.
    clone = project.parent / "fresh-clone"
    run(["git", "clone", "-q", str(project), str(clone)], cwd=project.parent)
    git("checkout", "-q", better_commit, cwd=clone)
    assert not (clone / "models" / "model").exists()
    fresh = mlops("deploy", cwd=clone)
    assert "already released as version 2" in fresh.stdout
    assert (clone / "models" / "model" / "MLmodel").is_file()
    assert registry() == state

    # The default local SQLite store: no server, the first release is promoted there.
    local = project_env.run(["mlops", "deploy"], cwd=project, CI="")
    assert "promoted: 'production' -> version 1" in local.stdout
    local_state = registry(f"sqlite:///{project / 'mlflow.db'}")
    assert local_state["aliases"] == {"production": "1", "staging": "1"}
    assert local_state["versions"]["1"]["tags"]["git_commit"] == git("rev-parse", "HEAD")
    assert registry() == state, "the server must not see a deploy to the local store"

    # The worse model again, now merged by a pull request that carries the override
    # label: the champion gate passes it, naming who applied the label (read from the
    # GitHub stub, as the deploy job reads GitHub), and the version records it.
    head = git("rev-parse", "HEAD")
    with serving(StubGitHub()) as github:
        github.pulls.append({"number": 12, "state": "closed", "merged_at": "2026-12-01T00:00:00Z",
                             "merge_commit_sha": head, "head": {"ref": "worse"},
                             "labels": [{"name": "accept-regression"}]})  # fmt: skip
        github.label(12, "accept-regression", "alice")
        runner = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_SHA": head,
                  "GITHUB_REPOSITORY": github.repo, "GITHUB_API_URL": github.url,
                  "GITHUB_TOKEN": TOKEN}  # fmt: skip
        overridden = mlops("deploy", "--to", "staging", **runner)
    assert "r2 regressed" in overridden.stdout
    assert (
        "overridden: @alice applied the label `accept-regression` to pull request #12"
        in overridden.stdout
    )
    after = registry()
    assert after["aliases"] == {**state["aliases"], "staging": "3"}, "production stays"
    assert after["versions"]["3"]["tags"]["git_commit"] == head
    assert after["versions"]["3"]["tags"]["gate_override"] == (
        "@alice (accept-regression, pull request #12)"
    )
