"""deploy and rollback in process against a SQLite registry; git, DVC and serving stubbed.

The template's own tests run the same commands for real (git, DVC, a tracking
server, `mlflow models serve`); these cover the registry logic in seconds.
"""

import mlflow
import pytest
import yaml

from {{ cookiecutter.package_name }}.commands import deploy, rollback
from {{ cookiecutter.package_name }}.core.latency import summarize
from {{ cookiecutter.package_name }}.integrations import staging_checks
from {{ cookiecutter.package_name }}.integrations.registry import (
    Registry,
    RegistryError,
    collect_provenance,
)
from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.stages import evaluate, ingest, split, train

from .conftest import TASKS
from .test_registry import REGRESSION_GATES


@pytest.fixture
def released(write_params, monkeypatch):
    """A trained project whose workspace checks pass and whose smoke test answers."""
    params = load_params(write_params(TASKS["regression"], REGRESSION_GATES))
    for stage in (ingest, split, train, evaluate):
        stage.run(params)
    lock = {
        "stages": {
            "ingest": {"outs": [{"path": "data/raw/data.parquet", "md5": "d" * 32}]},
            "train": {"outs": [{"path": "models/model", "md5": "m" * 32 + ".dir"}]},
        }
    }
    (params.root / "dvc.lock").write_text(yaml.safe_dump(lock))

    def passing_checks(params, model_uri, env, say):
        assert model_uri == f"models:/{params.registry.model_name}@staging"
        return staging_checks.Outcome(5, summarize([0.01, 0.02]), {})

    monkeypatch.setattr(deploy.git, "git_commit", lambda root: "c0ffee")
    monkeypatch.setattr(deploy.dvc, "require_in_sync", lambda root: None)
    monkeypatch.setattr(deploy.dvc, "push_outputs", lambda root: "pushed")
    monkeypatch.setattr(staging_checks, "run", passing_checks)
    return params


def aliases(params):
    return Registry(params).aliases()


def test_a_release_stopped_after_registering_is_resumed_not_duplicated(released, capsys):
    registry = Registry(released)
    registry.register(collect_provenance(released, "c0ffee"), released.paths.model)
    assert aliases(released) == {}

    assert deploy.run(released, deploy.Options(check=False, summary=None)) == 0
    assert "resuming the release of version 1" in capsys.readouterr().out
    assert aliases(released) == {"production": "1", "staging": "1"}
    tags = Registry(released).version("1").tags
    assert tags["staging_checks"] == "passed"
    assert tags["latency.p50_ms"] == "15.000" and tags["latency.requests"] == "2"

    assert deploy.run(released, deploy.Options(check=False, summary=None)) == 0
    assert "already released as version 1" in capsys.readouterr().out
    assert [v.version for v in Registry(released).versions()] == [1]


def test_check_changes_nothing_and_summarises(released, tmp_path, capsys):
    summary = tmp_path / "summary.md"
    assert deploy.run(released, deploy.Options(check=True, summary=summary)) == 0
    assert "--check: every check passed; nothing was changed" in capsys.readouterr().out
    assert not Registry(released).exists
    text = summary.read_text()
    assert text.startswith("### mlops deploy\n\n~~~text\n")
    assert "the first release is promoted" in text


def test_registered_files_must_match_the_workspace(released):
    registry = Registry(released)
    version = registry.register(collect_provenance(released, "c0ffee"), released.paths.model)
    assert version.tags["model_md5"] == "m" * 32 + ".dir"
    (released.paths.model / "MLmodel").write_text("tampered\n")
    with pytest.raises(RegistryError, match="does not hold the same files"):
        registry.verify(version, released.paths.model)
    tags = mlflow.MlflowClient().get_model_version(registry.name, version.version).tags
    assert tags["verified"] == "false"


def test_rollback_swaps_production_and_previous(released, capsys):
    registry = Registry(released)
    for commit in ("a" * 40, "b" * 40):
        (released.root / "dvc.lock").write_text(
            f"# {commit}\n" + (released.root / "dvc.lock").read_text()
        )
        version = registry.register(collect_provenance(released, commit), released.paths.model)
        registry.move(released.registry.alias, str(version.version))
    assert aliases(released) == {"production": "2", "previous": "1"}

    assert rollback.run(released, rollback.Options(version="")) == 0
    assert aliases(released) == {"production": "1", "previous": "2"}
    assert rollback.run(released, rollback.Options(version="")) == 0
    assert aliases(released) == {"production": "2", "previous": "1"}
    out = capsys.readouterr().out
    assert "after: 'production' -> version 1; 'previous' -> version 2" in out

    with pytest.raises(RegistryError, match=r"version 5 of .* does not exist"):
        rollback.run(released, rollback.Options(version="5"))
    assert aliases(released) == {"production": "2", "previous": "1"}


def test_failed_staging_checks_leave_production_where_it_was(released, monkeypatch, capsys):
    assert deploy.run(released, deploy.Options(check=False, summary=None)) == 0
    assert aliases(released) == {"production": "1", "staging": "1"}

    def failing(params, model_uri, env, say):
        raise staging_checks.StagingCheckError("the p95 latency 20.0 ms is over the budget")

    monkeypatch.setattr(staging_checks, "run", failing)
    monkeypatch.setattr(deploy.git, "git_commit", lambda root: "beef")
    (released.root / "dvc.lock").write_text(
        "# another\n" + (released.root / "dvc.lock").read_text()
    )
    assert deploy.run(released, deploy.Options(check=False, summary=None)) == deploy.REFUSED
    out = capsys.readouterr().out
    assert "refused: the staging checks failed on version 2" in out
    assert "'production' stays on version 1" in out
    assert aliases(released) == {"production": "1", "staging": "2"}
    assert Registry(released).version("2").tags["staging_checks"] == "failed"

    # --to staging stops once the tests pass; the next deploy promotes without retesting.
    monkeypatch.setattr(
        staging_checks, "run", lambda *args: staging_checks.Outcome(5, summarize([0.01]), {})
    )
    staged = deploy.Options(check=False, summary=None, to="staging")
    assert deploy.run(released, staged) == 0
    assert aliases(released) == {"production": "1", "staging": "2"}
    monkeypatch.setattr(staging_checks, "run", failing)
    assert deploy.run(released, deploy.Options(check=False, summary=None)) == 0
    assert "passed the staging checks on 'staging' already" in capsys.readouterr().out
    assert aliases(released) == {"production": "2", "previous": "1", "staging": "2"}


def test_check_storage_skips_with_a_notice_until_the_outputs_can_reach_the_runner(
    tmp_path, monkeypatch, capsys
):
    outputs = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    (tmp_path / "dvc.lock").write_text(
        yaml.safe_dump({"stages": {"train": {"outs": [{"path": "models/model", "md5": "m"}]}}})
    )
    # storage=local on a runner: the default remote is a folder it does not have.
    monkeypatch.setattr(deploy.dvc, "shared_remote", lambda root: None)
    assert deploy.check_storage(tmp_path) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith("::notice title=deploy skipped::")
    assert "set up shared storage (README: Storage)" in line
    assert outputs.read_text() == "ready=false\n"

    monkeypatch.setattr(deploy.dvc, "shared_remote", lambda root: "storage")
    assert deploy.check_storage(tmp_path) == 0
    assert "DVC remote 'storage'" in capsys.readouterr().out
    assert outputs.read_text() == "ready=false\nready=true\n"

    # The outputs already here (a laptop that ran the pipeline): no remote needed.
    monkeypatch.setattr(deploy.dvc, "shared_remote", lambda root: None)
    (tmp_path / "models" / "model").mkdir(parents=True)
    assert deploy.check_storage(tmp_path) == 0
    assert "from this workspace" in capsys.readouterr().out
    assert outputs.read_text().splitlines()[-1] == "ready=true"
