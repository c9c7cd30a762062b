"""Releases of a baked project through a real MLflow server on loopback, step by step.

One project is baked and installed for the module; the steps build on each
other as releases do: first deploy, a repeat, a stale and a dirty workspace, a
better model, a worse one, rollbacks, a dead server, the served production
model, a fresh clone that pulls from the DVC remote, and the local SQLite store.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from .conftest import bake, run

pytestmark = pytest.mark.slow

MODEL = "my-ml-project"
STARTUP_SECONDS = 180

# Reads the registry the way a user would, from inside the project's environment.
INSPECT_REGISTRY = textwrap.dedent("""
    import json, sys
    from mlflow import MlflowClient
    client = MlflowClient(sys.argv[1])
    found = client.search_registered_models(filter_string=f"name = '{sys.argv[2]}'")
    versions = client.search_model_versions(f"name = '{sys.argv[2]}'") if found else []
    print(json.dumps({
        "aliases": {k: str(v) for k, v in found[0].aliases.items()} if found else {},
        "versions": {str(v.version): {"tags": v.tags, "run_id": v.run_id} for v in versions},
    }))
""")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


class Server:
    """A process in its own session, stopped with everything it started."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path, ready_url: str):
        self.log = log
        with log.open("w") as sink:
            self.process = subprocess.Popen(
                command, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while not answers(ready_url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"{command[:4]} did not start:\n{log.read_text()[-4000:]}")
            time.sleep(0.5)

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                continue
        # Children left behind by a leader that exited first.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def mlflow_server(project_env, home: Path) -> tuple[Server, str]:
    """`mlflow server` from the project's environment, with a SQLite backend and proxied
    local artifacts under `home`, on a free loopback port; returns it and its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        str(project_env.venv / "bin" / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{home / 'server.db'}",
        "--artifacts-destination",
        str(home / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    # The server's background job runner (a pool of worker processes) is not needed here.
    env = {**project_env.env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    return Server(command, env, home / "server.log", f"{url}/health"), url


@pytest.fixture(scope="module")
def project(tmp_path_factory, project_env) -> Path:
    project = bake(tmp_path_factory.mktemp("deploy"), task="regression")
    project_env.install(project)
    return project


@pytest.fixture(scope="module")
def server(tmp_path_factory, project_env, project):
    """`mlflow server` with a SQLite backend and proxied local artifacts, on loopback."""
    started, url = mlflow_server(project_env, tmp_path_factory.mktemp("mlflow-server"))
    yield url
    started.stop()


def test_releases_gates_rollback_and_serving(project, project_env, server, tmp_path):
    def mlops(*args: str, check: bool = True, cwd: Path = project, **env: str):
        env = {"MLFLOW_TRACKING_URI": server, "CI": "", **env}
        return project_env.run(["mlops", *args], cwd=cwd, check=check, **env)

    def registry(uri: str = server) -> dict:
        shown = project_env.run(["python", "-c", INSPECT_REGISTRY, uri, MODEL], cwd=project)
        return json.loads(shown.stdout)

    def git(*args: str, cwd: Path = project) -> str:
        return project_env.run(["git", *args], cwd=cwd).stdout.strip()

    def set_alpha(alpha: float) -> None:
        path = project / "params.yaml"
        text = path.read_text()
        current = yaml.safe_load(text)["model"]["hyperparameters"]["ridge"]["alpha"]
        path.write_text(text.replace(f"alpha: {current}", f"alpha: {alpha}", 1))

    def commit(message: str) -> str:
        git("add", "--all")
        git("-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", message)
        return git("rev-parse", "HEAD")

    def repro_and_commit(message: str) -> str:
        project_env.run(["dvc", "repro"], cwd=project, MLFLOW_TRACKING_URI=server)
        return commit(message)

    def lock_md5(path: str) -> str:
        lock = yaml.safe_load((project / "dvc.lock").read_text())
        return next(
            out["md5"]
            for stage in lock["stages"].values()
            for out in stage.get("outs", [])
            if out["path"] == path
        )

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
