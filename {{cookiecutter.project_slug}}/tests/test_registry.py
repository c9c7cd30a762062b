"""Provenance tags, the champion gate and the CI guard, without a tracking server."""

import json
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
import yaml

from {{ cookiecutter.package_name }}.commands.deploy import champion_gate
from {{ cookiecutter.package_name }}.core.dataset import DataSet
from {{ cookiecutter.package_name }}.integrations.dvc import WorkspaceError
from {{ cookiecutter.package_name }}.integrations.registry import (
    Provenance,
    RegistryError,
    collect_provenance,
    manifest,
    metrics_from_tags,
    require_tracking_server,
)
from {{ cookiecutter.package_name }}.io import file_md5
from {{ cookiecutter.package_name }}.params import load_params

from .conftest import TASKS

PROVENANCE = Provenance(
    git_commit="c0ffee",
    dvc_lock_md5="lock",
    data_md5="data",
    model_md5="model.dir",
    train_run_id="run",
    metrics={"rmse": 53.777123456789, "r2": 0.4541},
)


def test_tags_carry_provenance_and_exact_metrics(monkeypatch):
    for key in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"):
        monkeypatch.delenv(key, raising=False)
    tags = PROVENANCE.tags()
    assert tags["git_commit"] == "c0ffee" and tags["model_md5"] == "model.dir"
    assert metrics_from_tags({**tags, "metric.bad": "n/a"}) == PROVENANCE.metrics
    assert "ci_run" not in tags
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://git.example")
    monkeypatch.setenv("GITHUB_REPOSITORY", "team/model")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    assert PROVENANCE.tags()["ci_run"] == "https://git.example/team/model/actions/runs/42"


def test_a_release_is_the_same_commit_or_the_same_lock():
    assert PROVENANCE.is_release_of({"git_commit": "c0ffee", "dvc_lock_md5": "other"})
    assert PROVENANCE.is_release_of({"git_commit": "docs-only", "dvc_lock_md5": "lock"})
    assert not PROVENANCE.is_release_of({"git_commit": "other", "dvc_lock_md5": "other"})


def test_provenance_comes_from_dvc_lock_and_the_outputs(write_params):
    params = load_params(write_params(TASKS["regression"]))
    lock = {
        "stages": {
            "ingest": {"outs": [{"path": "data/raw/data.parquet", "md5": "d" * 32}]},
            "train": {"outs": [{"path": "models/model", "md5": "m" * 32 + ".dir"}]},
        }
    }
    (params.root / "dvc.lock").write_text(yaml.safe_dump(lock))
    params.paths.train_run.parent.mkdir(parents=True)
    params.paths.train_run.write_text(json.dumps({"run_id": "abc123"}))
    params.paths.metrics.write_text(json.dumps({"rmse": 50.5, "r2": 0.5}))
    with pytest.raises(RegistryError, match=r"features\.json is missing"):
        collect_provenance(params, "c0ffee")
    features = {"target": "y", "numeric": ["age", "bmi"], "categorical": [], "excluded": {}}
    params.paths.features.parent.mkdir(parents=True, exist_ok=True)
    params.paths.features.write_text(json.dumps(features))
    data_set = DataSet.from_documents(params.raw, features)
    provenance = collect_provenance(params, "c0ffee")
    assert provenance == Provenance(
        git_commit="c0ffee",
        dvc_lock_md5=file_md5(params.root / "dvc.lock"),
        data_md5="d" * 32,
        model_md5="m" * 32 + ".dir",
        train_run_id="abc123",
        metrics={"rmse": 50.5, "r2": 0.5},
        data_schema=data_set.digest(),
        data_set=data_set.describe(),
    )
    assert provenance.tags()["data_set"] == "target y (regression), suite diabetes, 2 features"
    # Metrics that dvc.lock records an md5 for must be the recorded ones.
    lock["stages"]["evaluate"] = {"outs": [{"path": "metrics.json", "md5": "0" * 32}]}
    (params.root / "dvc.lock").write_text(yaml.safe_dump(lock))
    with pytest.raises(WorkspaceError, match=r"metrics\.json does not match the md5 dvc\.lock"):
        collect_provenance(params, "c0ffee")
    del lock["stages"]["evaluate"]
    (params.root / "dvc.lock").write_text(yaml.safe_dump(lock))
    params.paths.metrics.write_text(json.dumps({"rmse": float("nan")}))
    with pytest.raises(RegistryError, match="holds no finite metrics"):
        collect_provenance(params, "c0ffee")


def test_manifest_sees_every_byte(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "MLmodel").write_text("a")
    (tmp_path / "sub" / "model.skops").write_bytes(b"\x00\x01")
    first = manifest(tmp_path)
    assert set(first) == {"MLmodel", "sub/model.skops"}
    (tmp_path / "sub" / "model.skops").write_bytes(b"\x00\x02")
    assert manifest(tmp_path) != first


class FakeRegistry:
    def __init__(self, champion_tags=None):
        self.champion = (
            None if champion_tags is None else SimpleNamespace(version="3", tags=champion_tags)
        )

    def holder(self, alias):
        return self.champion


REGRESSION_GATES = {
    "gates": {
        "rmse": {"direction": "lower", "rel_tolerance": 0.02},
        "r2": {"direction": "higher", "abs_tolerance": 0.01},
    }
}


@pytest.fixture
def regression_params(write_params):
    return load_params(write_params(TASKS["regression"], REGRESSION_GATES))


def test_champion_gate_promotes_the_first_release(regression_params, capsys):
    assert champion_gate(regression_params, FakeRegistry(), PROVENANCE).passed
    assert "the first release is promoted" in capsys.readouterr().out


def test_champion_gate_refuses_a_regression_naming_the_metric(regression_params, capsys):
    champion = {"metric.rmse": "50.0", "metric.r2": "0.50", "metric.mae": "40.0"}
    candidate = Provenance(
        **{**PROVENANCE.__dict__, "metrics": {"rmse": 50.5, "r2": 0.45, "mae": 40.0}}
    )
    assert not champion_gate(regression_params, FakeRegistry(champion), candidate).passed
    out = capsys.readouterr().out
    assert "r2 regressed: 0.5000 -> 0.4500" in out
    assert "fails the gate on r2 against version 3; 'production' stays on version 3" in out

    within = Provenance(
        **{**PROVENANCE.__dict__, "metrics": {"rmse": 50.5, "r2": 0.495, "mae": 40.0}}
    )
    assert champion_gate(regression_params, FakeRegistry(champion), within).passed


def test_champion_gate_refuses_a_candidate_without_a_gated_metric(regression_params, capsys):
    champion = {"metric.rmse": "50.0", "metric.r2": "0.50", "metric.mae": "40.0"}
    candidate = Provenance(**{**PROVENANCE.__dict__, "metrics": {"rmse": 49.0, "r2": 0.55}})
    assert not champion_gate(regression_params, FakeRegistry(champion), candidate).passed
    out = capsys.readouterr().out
    assert "mae missing: 40.0000 -> n/a (a gated metric" in out
    assert "fails the gate on mae against version 3" in out


def test_champion_gate_needs_metrics_on_the_champion(regression_params):
    with pytest.raises(RegistryError, match="carries no metric tags for the gated metrics"):
        champion_gate(regression_params, FakeRegistry({"git_commit": "x"}), PROVENANCE)


FLOOR_GATES = {
    "gates": {
        "rmse": {"direction": "lower", "rel_tolerance": 0.02, "max": 60},
        "r2": {"direction": "higher", "abs_tolerance": 0.01, "min": 0.4},
    }
}
OLD_DATA = {"metric.rmse": "20.0", "metric.r2": "0.90", "data_schema": "old", "data_set": "x"}


def test_a_new_data_set_needs_the_flag_and_is_judged_by_the_floors(write_params, capsys):
    params = load_params(write_params(TASKS["regression"], FLOOR_GATES))
    params = replace(params, gates={name: params.gates[name] for name in ("rmse", "r2")})
    candidate = Provenance(**{**PROVENANCE.__dict__, "data_schema": "new", "data_set": "y"})
    # Without the flag: refused, naming it (and the comparison with version 3 never runs).
    assert not champion_gate(params, FakeRegistry(OLD_DATA), candidate).passed
    out = capsys.readouterr().out
    assert "trained on another data set (y) than version 3 ('production': x)" in out
    assert "`mlops deploy --new-data-set`" in out and "regressed" not in out
    # With it: the floors judge (rmse 53.8 <= 60, r2 0.454 >= 0.4), not production's metrics.
    assert champion_gate(params, FakeRegistry(OLD_DATA), candidate, new_data_set=True).passed
    assert "r2 meets its floor: 0.4541 (floor: at least 0.4" in capsys.readouterr().out
    below = Provenance(**{**candidate.__dict__, "metrics": {"rmse": 61.0, "r2": 0.5}})
    assert not champion_gate(params, FakeRegistry(OLD_DATA), below, new_data_set=True).passed
    assert "below the floor on rmse" in capsys.readouterr().out


def test_the_new_data_set_flag_never_skips_the_champion_gate(write_params, regression_params):
    same = {**OLD_DATA, "data_schema": "new"}
    candidate = Provenance(**{**PROVENANCE.__dict__, "data_schema": "new", "data_set": "y"})
    with pytest.raises(RegistryError, match=r"uses the same .*deploy without the flag"):
        champion_gate(regression_params, FakeRegistry(same), candidate, new_data_set=True)
    # Gates without floors cannot pass a model on a new data set.
    no_floors = replace(
        regression_params,
        gates={
            name: replace(rule, minimum=None, maximum=None)
            for name, rule in regression_params.gates.items()
        },
    )
    assert not champion_gate(no_floors, FakeRegistry(OLD_DATA), candidate, new_data_set=True).passed


def test_ci_requires_a_tracking_server(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(RegistryError, match="MLFLOW_TRACKING_URI is not set"):
        require_tracking_server()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    require_tracking_server()
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.delenv("CI")
    require_tracking_server()


def test_a_rollback_across_data_sets_needs_the_flag():
    from {{ cookiecutter.package_name }}.commands.rollback import crossing
    from {{ cookiecutter.package_name }}.errors import ProjectError

    def version(number, schema, described):
        return SimpleNamespace(version=number, tags={"data_schema": schema, "data_set": described})

    production = version("4", "b" * 8, "target churned, 12 features")
    old = version("2", "a" * 8, "target target, 30 features")
    same = version("3", "b" * 8, "target churned, 12 features")
    with pytest.raises(ProjectError, match=r"^refused: version 2 was trained on another data set"):
        crossing(production, old, "production", new_data_set=False)
    note = crossing(production, old, "production", new_data_set=True)
    assert "rolled back to this data set from version 4 ('production'" in note
    assert crossing(production, same, "production", new_data_set=False) is None
    with pytest.raises(ProjectError, match=r"--new-data-set is for a version trained on another"):
        crossing(production, same, "production", new_data_set=True)


class MergedPullRequest(BaseHTTPRequestHandler):
    """GitHub for a deploy of commit SHA: pull request 12 merged it, labelled by alice."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        assert self.headers["Authorization"] == "Bearer t0ken"
        if self.path.startswith(f"/repos/octo/model/commits/{SHA}/pulls"):
            labels = [{"name": "accept-regression"}]
            answer = [
                {"number": 11, "merged_at": None, "merge_commit_sha": "0" * 40, "labels": labels},
                {"number": 12, "merged_at": "2026-12-01T00:00:00Z", "merge_commit_sha": SHA,
                 "labels": labels},
            ]  # fmt: skip
        elif self.path.startswith("/repos/octo/model/commits/"):
            answer = []  # a commit no pull request merged
        elif self.path.startswith("/repos/octo/model/issues/12/events"):
            answer = [{"event": "labeled", "label": {"name": "accept-regression"},
                       "actor": {"login": "alice"}}]  # fmt: skip
        else:
            answer = None
        data = json.dumps(answer).encode()
        self.send_response(200 if answer is not None else 404)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


SHA = "c0ffee" + "0" * 34


def test_a_regression_merged_with_the_override_label_is_released_and_recorded(
    regression_params, capsys
):
    champion = {"metric.rmse": "50.0", "metric.r2": "0.50", "metric.mae": "40.0"}
    metrics = {"rmse": 50.5, "r2": 0.45, "mae": 40.0}
    worse = Provenance(**{**PROVENANCE.__dict__, "metrics": metrics})
    server = ThreadingHTTPServer(("127.0.0.1", 0), MergedPullRequest)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_SHA": SHA,
        "GITHUB_REPOSITORY": "octo/model",
        "GITHUB_API_URL": f"http://127.0.0.1:{server.server_address[1]}",
        "GITHUB_TOKEN": "t0ken",
    }
    try:
        verdict = champion_gate(regression_params, FakeRegistry(champion), worse, env=env)
        assert verdict.passed
        assert verdict.overridden == "@alice (accept-regression, pull request #12)"
        assert "overridden: @alice applied the label `accept-regression` to pull request #12" in (
            capsys.readouterr().out
        )
        tags = replace(worse, gate_override=verdict.overridden).tags()
        assert tags["gate_override"] == "@alice (accept-regression, pull request #12)"
        # Without the token the label cannot be read: refused, and the line says why.
        no_token = {**env, "GITHUB_TOKEN": ""}
        refused = champion_gate(regression_params, FakeRegistry(champion), worse, env=no_token)
        assert not refused.passed
        assert "`accept-regression` overrides nothing: GITHUB_TOKEN is not set" in (
            capsys.readouterr().out
        )
        # Another commit was merged by no pull request: refused, no override line.
        other = {**env, "GITHUB_SHA": "1" * 40}
        assert not champion_gate(regression_params, FakeRegistry(champion), worse, env=other).passed
        assert "overrid" not in capsys.readouterr().out
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert "gate_override" not in worse.tags()
