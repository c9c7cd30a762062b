"""`mlops take-results`: the judge copies the branch's recomputed results as files, and
only those; anything that could write outside the checkout or into .git is refused."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.params import load_params


def lock(outs: list[str], deps: tuple[str, ...] = ()) -> str:
    stage = {
        "cmd": "python -m pkg evaluate",
        "deps": [{"path": path, "md5": "0" * 32} for path in deps],
        "outs": [{"path": path, "md5": "1" * 32} for path in outs],
    }
    return yaml.safe_dump({"schema": "2.0", "stages": {"evaluate": stage}})


@pytest.fixture
def checkout(tmp_path, write_params) -> tuple[Path, Path, Path]:
    """(params file of the checkout, the checkout, the downloaded results)."""
    params = write_params()
    workspace = params.parent
    (workspace / ".git" / "hooks").mkdir(parents=True)
    (workspace / "metrics.json").write_text('{"accuracy": 0.5}')  # as committed
    results = tmp_path.parent / f"{tmp_path.name}-results"
    results.mkdir()
    return params, workspace, results


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def take(params: Path, workspace: Path, results: Path) -> int:
    arguments = ["take-results", str(results), "--workspace", str(workspace)]
    return main(["--params", str(params), *arguments])


def test_dvc_lock_its_outputs_missing_inputs_and_the_run_record_are_taken(checkout, capsys):
    params, workspace, results = checkout
    run_record = load_params(params).paths.train_run.relative_to(workspace).as_posix()
    inputs = ("data/input/rows.csv", "params.yaml")
    write(results, "dvc.lock", lock(["metrics.json", "models"], deps=inputs))
    write(results, "metrics.json", '{"accuracy": 0.9}')
    write(results, "models/model.skops", "model bytes")
    write(results, "models/nested/extra.json", "{}")
    write(results, "data/input/rows.csv", "a,b\n1,2\n")  # tracked by DVC, not in git
    write(results, "params.yaml", "task: tampered\n")  # in the checkout already: not taken
    write(results, run_record, '{"run_id": "new"}')
    write(results, "src/pkg/anything.py", "print('never copied')")

    assert take(params, workspace, results) == 0
    assert (workspace / "metrics.json").read_text() == '{"accuracy": 0.9}'
    assert (workspace / "models" / "model.skops").read_text() == "model bytes"
    assert (workspace / "models" / "nested" / "extra.json").is_file()
    assert (workspace / "data" / "input" / "rows.csv").is_file()
    assert (workspace / run_record).read_text() == '{"run_id": "new"}'
    assert (workspace / "dvc.lock").read_text() == (results / "dvc.lock").read_text()
    assert "tampered" not in (workspace / "params.yaml").read_text()
    assert not (workspace / "src").exists()
    assert "6 files of the branch's results copied" in capsys.readouterr().out


def test_a_folder_input_gets_only_the_files_the_checkout_lacks(checkout, capsys):
    """An imported source beside files git tracks (data/input/): the ignored data is
    taken, the tracked files stay the checkout's own."""
    params, workspace, results = checkout
    write(workspace, "data/input/source.csv.dvc", "outs: [checkout's own]\n")
    write(results, "dvc.lock", lock(["metrics.json"], deps=("data/input",)))
    write(results, "metrics.json", "{}")
    write(results, "data/input/source.csv", "a,b\n1,2\n")
    write(results, "data/input/source.csv.dvc", "outs: [the branch's]\n")

    assert take(params, workspace, results) == 0
    assert (workspace / "data/input/source.csv").read_text() == "a,b\n1,2\n"
    assert (workspace / "data/input/source.csv.dvc").read_text() == "outs: [checkout's own]\n"
    assert "3 files of the branch's results copied" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("out", "says"),
    [
        (".git/hooks/post-checkout", "names a hidden file or folder"),
        ("../outside.txt", "leaves the project"),
        ("/tmp/outside.txt", "leaves the project"),
    ],
)
def test_a_path_outside_the_checkout_or_hidden_is_refused(checkout, capsys, out, says):
    params, workspace, results = checkout
    write(results, "dvc.lock", lock(["metrics.json", out]))
    write(results, "metrics.json", "{}")
    assert take(params, workspace, results) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: dvc.lock stage 'evaluate' outs: ") and says in line
    assert repr(out) in line
    assert list((workspace / ".git" / "hooks").iterdir()) == []
    assert (workspace / "metrics.json").read_text() == '{"accuracy": 0.5}', "nothing taken"


def test_links_in_the_results_or_on_the_way_in_the_checkout_are_refused(checkout, capsys):
    params, workspace, results = checkout
    write(results, "dvc.lock", lock(["models"]))
    (results / "models").mkdir()
    os.symlink(workspace / ".git" / "config", results / "models" / "model.skops")
    assert take(params, workspace, results) == 2
    assert "models/model.skops in the results is a link" in capsys.readouterr().err

    (results / "models" / "model.skops").unlink()
    write(results, "models/model.skops", "model bytes")
    os.symlink(workspace / ".git" / "hooks", workspace / "models")  # committed by the branch
    assert take(params, workspace, results) == 2
    err = capsys.readouterr().err
    assert "models in the checkout is a link; not written" in err
    assert list((workspace / ".git" / "hooks").iterdir()) == []


def test_results_without_an_output_dvc_lock_records_are_refused(checkout, capsys):
    params, workspace, results = checkout
    write(results, "dvc.lock", lock(["metrics.json", "models"]))
    write(results, "metrics.json", "{}")
    assert take(params, workspace, results) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line == (
        "error: the results lack models, which dvc.lock records; did `dvc repro` finish in "
        "the job that reproduces the branch?"
    )

    (results / "dvc.lock").unlink()
    assert take(params, workspace, results) == 2
    assert "no dvc.lock in the results" in capsys.readouterr().err


def dvc(cwd: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, check=True, capture_output=True)


def test_taken_outputs_are_cached_and_must_be_the_ones_dvc_lock_records(write_params, capsys):
    """With DVC for real: the build runs the stage and uploads its workspace without
    hidden folders (so without DVC's cache); the judge's checkout then matches dvc.lock
    (`dvc status` is clean), unless an output was changed after the run."""
    params = write_params()
    pipeline = {"stages": {"make": {"cmd": "echo made > out.txt", "outs": ["out.txt"]}}}

    def project(name: str) -> Path:
        root = params.parent / name
        root.mkdir()
        (root / "params.yaml").write_bytes(params.read_bytes())
        (root / "dvc.yaml").write_text(yaml.safe_dump(pipeline), encoding="utf-8")
        dvc(root, "init", "--no-scm", "--quiet")
        return root

    build = project("build")
    dvc(build, "repro", "--quiet")
    results = params.parent / "results"
    shutil.copytree(build, results, ignore=shutil.ignore_patterns(".*"))
    checkout = project("checkout")
    arguments = ["take-results", str(results), "--workspace", str(checkout)]
    assert main(["--params", str(checkout / "params.yaml"), *arguments]) == 0
    status = subprocess.run(
        [sys.executable, "-m", "dvc", "status", "--json"],
        cwd=checkout, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(status.stdout) == {}
    capsys.readouterr()

    (results / "out.txt").write_text("edited after the run\n", encoding="utf-8")
    forged = project("forged")
    assert main(["--params", str(forged / "params.yaml"), "take-results", str(results),
                 "--workspace", str(forged)]) == 2  # fmt: skip
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(
        "error: the results are not what their dvc.lock records: out.txt (stage 'make')"
    )
    assert (forged / "dvc.lock").read_bytes() == (results / "dvc.lock").read_bytes()
