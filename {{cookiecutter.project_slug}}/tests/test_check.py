import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }} import check
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.errors import ProjectError
from {{ cookiecutter.package_name }}.params import load_params

from .conftest import PROJECT_ROOT

SUITES = f"{check.__package__}.{check.SUITE_MODULE}"


@pytest.fixture
def project(tmp_path) -> Path:
    """A scratch copy of the files `mlops check` reads: pipeline, params, code, inputs."""
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(PROJECT_ROOT / name, tmp_path / name)
    (tmp_path / ".dvc").mkdir()
    shutil.copy(PROJECT_ROOT / ".dvc" / "config", tmp_path / ".dvc" / "config")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(PROJECT_ROOT / "src", tmp_path / "src", ignore=ignore)
    (tmp_path / "data" / "input").mkdir(parents=True)
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    return tmp_path


def edit_pipeline(project: Path, edit) -> None:
    path = project / "dvc.yaml"
    pipeline = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(pipeline["stages"])
    path.write_text(yaml.safe_dump(pipeline, sort_keys=False), encoding="utf-8")


def run_check(project: Path, capsys) -> tuple[int, str]:
    status = check.run(load_params(project / "params.yaml"))
    return status, capsys.readouterr().out


def test_the_shipped_project_agrees(capsys):
    status = main(["--params", str(PROJECT_ROOT / "params.yaml"), "check"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "stages (ingest, split, train" in out
    assert "FAILED" not in out


def test_a_scratch_copy_agrees(project, capsys):
    status, out = run_check(project, capsys)
    assert status == 0, out


def test_a_missing_pipeline_is_reported(project, capsys):
    (project / "dvc.yaml").unlink()
    status, out = run_check(project, capsys)
    assert status == 1
    assert "dvc.yaml defines no stages" in out


def test_an_unknown_interpolated_key_is_reported(project, capsys):
    edit_pipeline(project, lambda stages: stages["split"]["outs"].append("${paths.nowhere}"))
    status, out = run_check(project, capsys)
    assert status == 1
    assert "dvc.yaml cannot be loaded" in out and "paths.nowhere" in out


def test_a_params_key_missing_from_params_yaml_is_reported(project, capsys):
    edit_pipeline(project, lambda stages: stages["train"]["params"].append("model.depth"))
    status, out = run_check(project, capsys)
    assert status == 1
    assert "stage 'train': params key `model.depth` is not in params.yaml" in out


def test_a_command_the_cli_does_not_have_is_reported(project, capsys):
    def rename(stages):
        stages["evaluate"]["cmd"] = stages["evaluate"]["cmd"].replace("evaluate", "score")

    edit_pipeline(project, rename)
    status, out = run_check(project, capsys)
    assert status == 1
    assert "stage 'evaluate': command 'score' is not a command of the project CLI" in out


def test_commands_of_other_programs_are_left_alone(project, capsys):
    edit_pipeline(project, lambda stages: stages["ingest"].update(cmd="bash fetch.sh --all"))
    status, out = run_check(project, capsys)
    assert status == 0, out


def test_a_dependency_nothing_provides_is_reported(project, capsys):
    (project / "src" / check.__package__ / "metrics.py").unlink()
    status, out = run_check(project, capsys)
    assert status == 1
    assert f"dependency src/{check.__package__}/metrics.py does not exist" in out


def test_a_dvc_tracked_input_counts_as_present(project, capsys):
    (project / "data" / "input" / "customers.csv.dvc").write_text(
        "outs:\n- md5: d41d8cd98f00b204e9800998ecf8427e\n  size: 0\n  hash: md5\n"
        "  path: customers.csv\n",
        encoding="utf-8",
    )
    edit_pipeline(
        project, lambda stages: stages["ingest"]["deps"].append("data/input/customers.csv")
    )
    status, out = run_check(project, capsys)
    assert status == 0, out


def test_an_output_outside_params_paths_is_reported(project, capsys):
    edit_pipeline(project, lambda stages: stages["evaluate"].update(outs=["reports/extra.json"]))
    status, out = run_check(project, capsys)
    assert status == 1
    assert "output reports/extra.json is not one of `paths:` in params.yaml" in out


def fake_suites(monkeypatch, load_suite) -> None:
    module = types.ModuleType(SUITES)
    if load_suite is not None:
        module.load_suite = load_suite
    monkeypatch.setitem(sys.modules, SUITES, module)


def test_suites_are_loaded_through_the_validation_module(project, capsys, monkeypatch):
    loaded = []
    fake_suites(monkeypatch, loaded.append)
    status, out = run_check(project, capsys)
    assert status == 0, out
    assert "data suites: loaded" in out
    assert [params.root for params in loaded] == [project]


def test_a_suite_that_does_not_fit_is_reported(project, capsys, monkeypatch):
    def load_suite(params):
        raise ProjectError("gx/expectations/raw.json: column 'age' is not in the data; fix it")

    fake_suites(monkeypatch, load_suite)
    status, out = run_check(project, capsys)
    assert status == 1
    assert "FAILED: data suites: gx/expectations/raw.json: column 'age'" in out


def test_a_validation_module_without_load_suite_is_reported(project, capsys, monkeypatch):
    fake_suites(monkeypatch, None)
    status, out = run_check(project, capsys)
    assert status == 1
    assert "has no load_suite(params)" in out


def test_suites_without_a_validation_module_are_reported(project, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, SUITES, None)
    (project / "gx").mkdir()
    status, out = run_check(project, capsys)
    assert status == 1
    assert "gx/ exists but there is no validation module" in out


def test_no_suites_and_no_validation_module_is_fine(project, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, SUITES, None)
    status, out = run_check(project, capsys)
    assert status == 0, out
    assert "data suites: none" in out
