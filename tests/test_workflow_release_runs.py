"""The release workflows of a bake, run as written under a real Actions runner (act, on
this host, offline; see tests/act_harness.py): `deploy.yml` and `rollback.yml` against
moto (S3) and a real `mlflow server` on 127.0.0.1 for storage=s3; `deploy.yml` on a
storage=local bake, which skips the release with a notice; `kubeflow.yml`, which
compiles the pipeline. `image.yml` is the one workflow not run here: it needs Docker.

Slow: each run installs the locked environment in a fresh runner folder and runs the
real commands. Each variant is baked and installed once per module.
"""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from .act_harness import Repository
from .conftest import bake
from .e2e.scenario import INSPECT_REGISTRY
from .e2e.test_e2e_s3_release import read_env_file

pytestmark = pytest.mark.slow

MODEL = "my-ml-project"
STAGING = "Deploy to staging and run the staging checks"
PRODUCTION = "Promote to production"
ROLLBACK = "Roll back production"
AWS_VARIABLES = {
    "AWS_RELEASE_ROLE_ARN": "arn:aws:iam::123456789012:role/release",
    "AWS_REGION": "us-east-1",
}


def edit_params(repository: Repository, old: str, new: str) -> None:
    path = repository.path / "params.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in params.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def manifest_version(repository: Repository, artifact: str, alias: str) -> str:
    """The registry version the KServe manifest in a run's artifact names."""
    document = yaml.safe_load(
        (repository.artifacts / artifact / f"{alias}.yaml").read_text(encoding="utf-8")
    )
    return document["metadata"]["annotations"]["mlops.registry/version"]


def test_s3_deploy_releases_stops_a_worse_model_in_staging_and_rolls_back(
    tmp_path_factory, project_env
):
    """deploy.yml on pushes to main and rollback.yml by hand, storage=s3, against the
    laptop stack (`mlops stack up --local-s3`: moto and `mlflow server` on loopback)."""
    work = tmp_path_factory.mktemp("release-s3")
    project = bake(work, storage="s3")
    project_env.install(project)
    repository = Repository(project, work, project_env)
    up = project_env.run(["mlops", "stack", "up", "--local-s3", "--port", "0"], cwd=project)
    assert "created bucket" in up.stdout
    try:
        stack = read_env_file(project / ".stack.env")
        local = {**stack, "CI": ""}
        tracking = stack["MLFLOW_TRACKING_URI"]
        # The runner gets the server as the environment's secret, and moto's credentials
        # and endpoint from the configure-aws-credentials stand-in (the OIDC sign-in).
        repository.env["ACT_MOTO_ENDPOINT"] = stack["AWS_ENDPOINT_URL"]
        secrets = {"MLFLOW_TRACKING_URI": tracking}

        def sh(*command: str, check: bool = True):
            return project_env.run(list(command), cwd=project, check=check, **local)

        def registry() -> dict:
            return json.loads(sh("python", "-c", INSPECT_REGISTRY, tracking, MODEL).stdout)

        def merge(message: str) -> None:
            """A change merged to main with its results, pushed to the DVC remote."""
            sh("dvc", "repro")
            sh("dvc", "push")
            repository.commit(message, push=True)

        def deploy():
            return repository.act(
                "push",
                "deploy.yml",
                repository.push_event(),
                variables=AWS_VARIABLES,
                secrets=secrets,
            )

        # A merge to main: staging, the staging checks over HTTP, production.
        merge("Results of the first run")
        first = deploy()
        assert first.returncode == 0, first.failed_because()
        assert first.jobs == {STAGING: "success", PRODUCTION: "success"}, first.failed_because()
        assert "staging checks passed on version 1 ('staging')" in first.log
        state = registry()
        assert state["aliases"] == {"production": "1", "staging": "1"}
        assert state["versions"]["1"]["tags"]["staging_checks"] == "passed"
        assert manifest_version(repository, "kserve-production", "production") == "1"

        # A second release, made on the laptop: production on 2, previous on 1.
        edit_params(repository, "C: 1.0", "C: 2.0")
        sh("dvc", "repro")
        repository.commit("C 2.0", push=True)
        sh("mlops", "deploy")
        released = registry()
        assert released["aliases"] == {"production": "2", "previous": "1", "staging": "2"}

        # A worse model merged to main: refused in staging, production never runs.
        edit_params(repository, "C: 2.0", "C: 0.0001")
        merge("C 0.0001")
        worse = deploy()
        assert worse.returncode != 0
        assert worse.jobs == {STAGING: "failure"}, worse.failed_because()
        assert "refused: the candidate fails the gate" in worse.log
        assert registry() == released

        # rollback.yml by hand, to version 1: production moves and the manifest it
        # rewrote is the run's artifact (the previous one named version 2).
        shutil.rmtree(repository.artifacts / "kserve-production", ignore_errors=True)
        dispatch = {
            "ref": "refs/heads/main",
            "inputs": {"version": "1"},
            "repository": repository.repository_payload(),
        }
        rolled = repository.act(
            "workflow_dispatch",
            "rollback.yml",
            dispatch,
            secrets=secrets,
            inputs={"version": "1"},
        )
        assert rolled.returncode == 0, rolled.failed_because()
        assert rolled.jobs == {ROLLBACK: "success"}, rolled.failed_because()
        assert registry()["aliases"] == {"production": "1", "previous": "2", "staging": "2"}
        assert manifest_version(repository, "kserve-production", "production") == "1"
        for run in (first, worse, rolled):
            print(f"release run: {run.seconds:.0f} s")
    finally:
        down = project_env.run(["mlops", "stack", "down"], cwd=project, check=False)
    assert down.returncode == 0, down.stderr
    assert not (project / ".stack.env").exists()


@pytest.fixture(scope="module")
def local_storage(tmp_path_factory, project_env) -> Repository:
    """A bake with the default storage (a DVC folder beside the repository) and the
    Kubeflow orchestrator, its pipeline's results committed on main."""
    work = tmp_path_factory.mktemp("release-local")
    project = bake(work, orchestrator="kubeflow")
    project_env.install(project)
    repository = Repository(project, work, project_env)
    repository.mlops("dvc", "repro")
    repository.commit("Results of the first run", push=True)
    return repository


def test_deploy_without_shared_storage_is_a_neutral_skip(local_storage):
    """deploy.yml on a merge to main of a storage=local project: the outputs cannot
    reach the runner, so the run passes with one notice that says what to set up, the
    release steps are skipped and production never runs."""
    repository = local_storage
    run = repository.act("push", "deploy.yml", repository.push_event())
    assert run.returncode == 0, run.failed_because()
    assert run.jobs == {STAGING: "success"}, run.failed_because()
    notices = [line for line in run.log.splitlines() if "deploy skipped" in line]
    assert len(notices) == 1, run.failed_because()
    assert "set up shared storage (README: Storage)" in notices[0]
    assert "mlops deploy --check\n" not in run.log and "mlops deploy --to" not in run.log
    assert not (repository.artifacts / "kserve-staging").exists()


def test_kubeflow_workflow_compiles_the_pipeline(local_storage):
    """kubeflow.yml on a push: the compile job writes the pipeline's IR YAML, with a task
    for every stage of dvc.yaml, as its artifact; the submit job waits for a dispatch."""
    repository = local_storage
    run = repository.act("push", "kubeflow.yml", repository.push_event())
    assert run.returncode == 0, run.failed_because()
    assert run.jobs == {"Compile the pipeline": "success"}, run.failed_because()
    compiled = repository.artifacts / "kubeflow-pipeline" / "pipeline.yaml"
    document = yaml.safe_load(compiled.read_text(encoding="utf-8"))
    stages = yaml.safe_load((repository.path / "dvc.yaml").read_text(encoding="utf-8"))
    assert set(document["root"]["dag"]["tasks"]) == set(stages["stages"])
    assert document["pipelineInfo"]["name"]
