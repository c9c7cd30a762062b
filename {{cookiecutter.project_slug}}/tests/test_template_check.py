"""`mlops template-check`: a template that moved, one that did not, and one out of reach."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.cli import main


def git(cwd: Path, *args: str) -> str:
    identity = ["-c", "user.name=Template Dev", "-c", "user.email=dev@example.com"]
    done = subprocess.run(
        ["git", *identity, *args], cwd=cwd, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def template(tmp_path) -> tuple[Path, str]:
    """A template repository with one commit: (its path, that commit)."""
    root = tmp_path / "template"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "cookiecutter.json").write_text("{}\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "first")
    return root, git(root, "rev-parse", "HEAD")


def check(tmp_path, write_params, template: str, commit: str) -> tuple[int, dict[str, str]]:
    """Run the command on a .cruft.json naming `template` at `commit`: (exit code, the step
    outputs it wrote to the job's output file, a scratch file here; see conftest.py)."""
    state = tmp_path / "cruft.json"
    state.write_text(json.dumps({"template": template, "commit": commit, "checkout": None}))
    params = write_params()
    code = main(["--params", str(params), "template-check", "--state-file", str(state)])
    written = Path(os.environ["GITHUB_OUTPUT"]).read_text(encoding="utf-8")
    return code, dict(line.split("=", 1) for line in written.splitlines())


def test_a_template_at_the_recorded_commit_is_current(tmp_path, write_params, template, capsys):
    root, commit = template
    code, outputs = check(tmp_path, write_params, str(root), commit)
    assert code == 0 and outputs == {"state": "current", "behind": "false"}
    assert "up to date" in capsys.readouterr().out


def test_a_template_with_a_newer_commit_is_ahead(tmp_path, write_params, template, capsys):
    root, commit = template
    (root / "NEWS.md").write_text("a fix\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "a fix")
    code, outputs = check(tmp_path, write_params, str(root), commit)
    assert code == 0 and outputs == {"state": "ahead", "behind": "true"}
    out = capsys.readouterr().out
    assert f"moved from {commit[:12]}" in out and "cruft update" in out


def test_a_template_out_of_reach_says_so_in_one_line_and_is_not_ahead(
    tmp_path, write_params, template, capsys
):
    # A bake from a local path, seen from a CI runner: the path is not there.
    _, commit = template
    missing = tmp_path / "on-a-laptop" / "template"
    code, outputs = check(tmp_path, write_params, str(missing), commit)
    assert code == 0 and outputs == {"state": "unreachable", "behind": "false"}
    [line] = capsys.readouterr().out.splitlines()
    assert "cannot be reached from here" in line and "README: Template updates" in line


def test_no_cruft_record_is_a_one_line_error(tmp_path, write_params, capsys):
    params = write_params()
    missing = tmp_path / "none.json"
    assert main(["--params", str(params), "template-check", "--state-file", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: none.json is missing") and err.count("\n") == 1
