import subprocess
import sys

import pytest

from {{ cookiecutter.package_name }}.cli import COMMANDS, main


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


def test_a_user_error_is_one_line_and_exit_code_2(tmp_path, capsys):
    assert main(["--params", str(tmp_path / "missing.yaml"), "ingest"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "missing.yaml: file not found" in err


def test_unknown_command_is_rejected(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["fly"])
    assert exited.value.code == 2
    assert "invalid choice: 'fly'" in capsys.readouterr().err


def test_help_imports_none_of_the_heavy_libraries():
    probe = (
        "import sys; from {{ cookiecutter.package_name }}.cli import main\n"
        "try: main(['--help'])\n"
        "except SystemExit: pass\n"
        "heavy = ('pandas', 'sklearn', 'mlflow', 'great_expectations')\n"
        "print('loaded:', [m for m in heavy if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "loaded: []"


def test_the_help_of_every_command_loads_neither_mlflow_nor_gx():
    probe = (
        "import sys\n"
        "from {{ cookiecutter.package_name }}.cli import COMMANDS, main\n"
        "for name in COMMANDS:\n"
        "    try: main([name, '--help'])\n"
        "    except SystemExit: pass\n"
        "    loaded = [m for m in ('mlflow', 'great_expectations') if m in sys.modules]\n"
        "    print(name, 'loaded:', loaded, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    lines = result.stderr.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(COMMANDS)
    assert all(line.endswith("loaded: []") for line in lines), lines
    for name in ("train", "evaluate", "deploy", "rollback"):
        assert f"usage: python -c {name}" in result.stdout or f" {name} [-h]" in result.stdout
    assert "--check" in result.stdout  # deploy's own options are still described


@pytest.mark.parametrize("before", [True, False])
def test_params_may_come_before_or_after_the_command(tmp_path, capsys, before):
    missing = str(tmp_path / "elsewhere.yaml")
    argv = ["--params", missing, "ingest"] if before else ["ingest", "--params", missing]
    assert main(argv) == 2
    assert "elsewhere.yaml: file not found" in capsys.readouterr().err


def test_params_after_the_command_works_with_its_options(write_params, capsys):
    path = write_params(modle={"type": "ridge"})  # only this file has the typo
    assert main(["validate", "--data", "batch.csv", "--params", str(path)]) == 2
    assert f"{path}: unknown key `modle`" in capsys.readouterr().err


BAD_INPUTS = {
    "a number that is not one": (["make-batch", "--shift-mean", "age=abc"], "K must be a number"),
    "an infinite scale": (["make-batch", "--shift-scale", "age=inf"], "K must be a number"),
    "a share above 1": (["make-batch", "--new-category-share", "2"], "not a share between 0"),
    "an unknown command": (["fly"], "invalid choice: 'fly'"),
    "an unknown option": (["train", "--fast"], "unrecognized arguments: --fast"),
    "a typo in params.yaml": (["ingest", "{params:modle}"], "unknown key `modle`"),
    "a bad params value": (["ingest", "{params:split}"], "`split.test_size` must be a number"),
    "a missing batch": (["validate", "--data", "nowhere.csv", "{params}"], "nowhere.csv"),
    "a data file of another kind": (["ingest", "{params:txt}"], "data.txt"),
}
BAD_PARAMS = {
    "modle": {"modle": {"type": "ridge"}},
    "split": {"split": {"test_size": 1.5}},
    "txt": {"data": {"source": "data.txt"}},
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_a_user_error_is_one_clear_line_not_a_traceback(write_params, capsys, case):
    argv, expected = BAD_INPUTS[case]
    resolved = []
    for arg in argv:
        if arg.startswith("{params"):
            layer = BAD_PARAMS.get(arg.strip("{}").partition(":")[2], {})
            path = write_params(layer)
            (path.parent / "data.txt").write_text("a,b\n1,2\n")
            resolved += ["--params", str(path)]
        else:
            resolved.append(arg)
    try:
        status = main(resolved)
    except SystemExit as exited:  # argparse: usage and one error line
        status = exited.code
    assert status not in (0, None)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert expected in err.strip().splitlines()[-1]


def test_a_failed_stage_names_the_commands_that_restore_its_last_good_outputs(
    write_params, tmp_path, capsys
):
    import re
    import shutil
    import subprocess

    from {{ cookiecutter.package_name }}.params import load_params
    from {{ cookiecutter.package_name }}.stages import evaluate, ingest, split, train

    from .conftest import PROJECT_ROOT

    params_file = write_params()
    shutil.copy(PROJECT_ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    params = load_params(params_file)
    for stage in (ingest, split, train, evaluate):
        stage.run(params)
    good = params.paths.metrics.read_bytes()

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "--quiet")
    git("add", "metrics.json", "reports/plots")
    git("-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "good")
    # What `dvc repro` does before it reruns evaluate: its outputs are removed.
    params.paths.metrics.unlink()
    shutil.rmtree(params.paths.plots)
    broken = write_params(data={"positive_class": "no such label"})
    assert main(["--params", str(broken), "evaluate"]) == 2
    error = capsys.readouterr().err
    # evaluate has outputs in git (metrics, plots) and one DVC caches (the per-row
    # outcomes): the line names a command for each kind.
    restore = re.search(
        r"`(git checkout -- [^`]+)` and `dvc checkout evaluate` restore the last good ones", error
    )
    assert restore, error
    assert restore.group(1) == "git checkout -- metrics.json reports/plots"
    git(*restore.group(1).split()[1:])
    assert params.paths.metrics.read_bytes() == good
    assert any(params.paths.plots.iterdir())

    # A stage whose outputs DVC caches: `dvc checkout <stage>`.
    assert main(["--params", str(write_params(model={"type": "no_such_model"})), "train"]) == 2
    assert "(train wrote no new outputs; `dvc checkout train` restores the last good ones)" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["stack", "up", "--port", "70000"], "'70000' is not a port: give 1 to 65535"),
        (["stack", "up", "--port", "-1"], "'-1' is not a port"),
        (
            ["smoke-test", "--url", "http://127.0.0.1:1", "--timeout", "0"],
            "'0' is not a number of seconds above 0",
        ),
        (
            ["smoke-test", "--url", "http://127.0.0.1:1", "--timeout", "nan"],
            "'nan' is not a number of seconds above 0",
        ),
    ],
)
def test_a_number_outside_its_range_is_refused_by_name(argv, message, capsys):
    with pytest.raises(SystemExit) as refused:
        main(argv)
    assert refused.value.code == 2
    assert message in capsys.readouterr().err
