import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.commands import check
from {{ cookiecutter.package_name }}.params import load_params

from .conftest import PROJECT_ROOT

PACKAGE = check.PACKAGE


@pytest.fixture
def project(tmp_path) -> Path:
    """A scratch copy of the files `mlops check` reads: pipeline, params, code, inputs."""
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(PROJECT_ROOT / name, tmp_path / name)
    (tmp_path / ".dvc").mkdir()
    shutil.copy(PROJECT_ROOT / ".dvc" / "config", tmp_path / ".dvc" / "config")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(PROJECT_ROOT / "src", tmp_path / "src", ignore=ignore)
    shutil.copytree(
        PROJECT_ROOT / "gx", tmp_path / "gx", ignore=shutil.ignore_patterns("uncommitted")
    )
    (tmp_path / "data" / "input").mkdir(parents=True)
    (tmp_path / ".github").mkdir()
    shutil.copy(PROJECT_ROOT / ".github" / "CODEOWNERS", tmp_path / ".github" / "CODEOWNERS")
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
    """About your project as it is: reads params.yaml (your data, your suite) on purpose."""
    status = main(["--params", str(PROJECT_ROOT / "params.yaml"), "check"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "stages (ingest, validate, split, train" in out
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
    (project / "src" / PACKAGE / "stages" / "train.py").unlink()
    status, out = run_check(project, capsys)
    assert status == 1
    assert f"dependency src/{PACKAGE}/stages/train.py does not exist" in out


def test_the_shipped_deps_cover_the_code_each_stage_runs(project, capsys):
    status, out = run_check(project, capsys)
    assert status == 0, out
    stages = yaml.safe_load((project / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    for name, stage in stages.items():
        listed = {dep for dep in stage["deps"] if dep.startswith("src/")}
        runs = check.code_of(project / "src" / PACKAGE, f"stages.{name}")
        assert listed == {path.relative_to(project).as_posix() for path in runs}, name


@pytest.mark.parametrize(
    ("stage", "module"),
    [("train", "core/features.py"), ("evaluate", "core/metrics.py"), ("validate", "io.py")],
)
def test_a_dependency_missing_from_dvc_yaml_is_named(project, capsys, stage, module):
    dropped = f"src/{PACKAGE}/{module}"
    edit_pipeline(project, lambda stages: stages[stage]["deps"].remove(dropped))
    status, out = run_check(project, capsys)
    assert status == 1
    assert f"stage '{stage}': runs {dropped} (imported by its command) but does not" in out
    assert out.count("does not depend on it") == 1


def test_imports_inside_functions_and_of_submodules_count(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text('"""Only a docstring."""\n')
    (package / "sub" / "__init__.py").write_text("VALUE = 1\n")
    (package / "sub" / "leaf.py").write_text("LEAF = 1\n")
    (package / "lazy.py").write_text("LAZY = 1\n")
    (package / "entry.py").write_text(
        "from .sub import leaf\n\ndef later():\n    from . import lazy\n"
    )
    found = {path.relative_to(package).as_posix() for path in check.code_of(package, "entry")}
    assert found == {"entry.py", "sub/__init__.py", "sub/leaf.py", "lazy.py"}


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


def suite_file(project: Path) -> Path:
    params = load_params(project / "params.yaml")
    return params.suite_path


def test_the_configured_suite_loads(project, capsys):
    status, out = run_check(project, capsys)
    assert status == 0, out
    assert f"data suite: {load_params(project / 'params.yaml').validation.suite} loads" in out


def test_a_malformed_suite_is_reported_with_its_file(project, capsys):
    suite_file(project).write_text('{"name": "oops", ', encoding="utf-8")
    status, out = run_check(project, capsys)
    assert status == 1
    assert "FAILED: data suite:" in out and suite_file(project).name in out


def test_a_missing_suite_is_reported_with_its_file(project, capsys):
    suite_file(project).unlink()
    status, out = run_check(project, capsys)
    assert status == 1
    assert suite_file(project).name in out


def test_the_judging_code_is_read_from_the_imports():
    judging = check.judging_code(PROJECT_ROOT)
    for module in ("core/metrics.py", "core/gates.py", "core/split.py", "commands/report.py"):
        assert f"src/{PACKAGE}/{module}" in judging
    assert f"src/{PACKAGE}/commands/deploy.py" not in judging
    assert check.unowned_judging_code(PROJECT_ROOT) == []


def test_a_judging_module_without_an_owner_fails_the_check(project, capsys):
    owners = project / ".github" / "CODEOWNERS"
    kept = [line for line in owners.read_text().splitlines() if "core/metrics.py" not in line]
    owners.write_text("\n".join(kept) + "\n")
    # A module the scoring code starts to import becomes judging code too.
    metrics = project / "src" / PACKAGE / "core" / "metrics.py"
    metrics.write_text(metrics.read_text() + "\nfrom . import drift  # noqa: E402,F401\n")
    assert main(["--params", str(project / "params.yaml"), "check"]) == 1
    out = capsys.readouterr().out
    for module in ("core/metrics.py", "core/drift.py"):
        assert (
            f"check: FAILED: .github/CODEOWNERS: src/{PACKAGE}/{module} splits, scores, judges "
            "or reports pull requests"
        ) in out
