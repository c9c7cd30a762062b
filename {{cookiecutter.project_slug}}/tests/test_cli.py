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
