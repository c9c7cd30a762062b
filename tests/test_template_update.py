"""A baked project follows its template with cruft: `.cruft.json` and `cruft update`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from tests.conftest import TEMPLATE, bake, run

SLUG = "{{cookiecutter.project_slug}}"


def git(cwd: Path, *args: str) -> str:
    identity = ["-c", "user.name=Template Dev", "-c", "user.email=dev@example.com"]
    return run(["git", *identity, *args], cwd=cwd).stdout.strip()


def cruft(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("cruft")
    if executable is None:
        pytest.fail("cruft is not on PATH: run the tests with `make test`, which installs it")
    return run([executable, *args], cwd=project, check=check, timeout=300)


def test_the_bake_records_the_template_and_its_commit(tmp_path):
    project = bake(tmp_path, project_name="Traced Project", task="regression")
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    head = run(["git", "rev-parse", "HEAD"], cwd=TEMPLATE).stdout.strip()
    assert state["template"] == str(TEMPLATE)
    assert state["commit"] == head
    assert state["directory"] is None
    answers = state["context"]["cookiecutter"]
    assert answers["project_name"] == "Traced Project"
    assert answers["task"] == "regression"
    assert answers["_commit"] == head
    # Machine-local paths of the bake are not recorded.
    assert not {"_repo_dir", "_output_dir"} & set(answers)
    tracked = run(["git", "ls-files"], cwd=project).stdout.split()
    assert ".cruft.json" in tracked


def test_a_relative_template_path_is_recorded_as_an_absolute_one(tmp_path):
    # As from a shell (which sets PWD): `cd template/tests && cookiecutter .. -o out`.
    out = tmp_path / "out"
    script = 'cd "$1" && "$2" --no-input .. -o "$3"'
    cutter = shutil.which("cookiecutter") or "cookiecutter"
    run(["bash", "-c", script, "bash", TEMPLATE / "tests", cutter, out], cwd=tmp_path)
    state = json.loads((out / "my-ml-project" / ".cruft.json").read_text(encoding="utf-8"))
    assert state["template"] == str(TEMPLATE)


@pytest.mark.slow
def test_cruft_update_applies_template_changes_and_flags_conflicts(tmp_path):
    # The template at commit A: a git repository of the working tree as it is now.
    template = tmp_path / "template"
    listed = run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=TEMPLATE
    ).stdout
    for name in filter(None, listed.split("\0")):
        source = TEMPLATE / name
        if source.is_file():
            (template / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, template / name)
    git(template, "init", "--quiet", "--initial-branch=main")
    git(template, "add", "--all")
    git(template, "commit", "--quiet", "-m", "A")
    commit_a = git(template, "rev-parse", "HEAD")

    project = Path(cookiecutter(str(template), no_input=True, output_dir=str(tmp_path / "out")))
    assert json.loads((project / ".cruft.json").read_text())["commit"] == commit_a
    assert "up to date" in cruft(project, "check").stdout

    # The user edits the README's title; they never touch docs/decisions.md.
    readme = project / "README.md"
    readme.write_text(
        readme.read_text().replace("# My ML Project\n", "# My ML Project, our fork\n", 1)
    )
    git(project, "commit", "--quiet", "-am", "Our title")

    # Commit B of the template changes both files.
    template_readme = template / SLUG / "README.md"
    title = "# {{ cookiecutter.project_name }}\n"
    assert template_readme.read_text().startswith(title)
    template_readme.write_text(
        template_readme.read_text().replace(title, "# {{ cookiecutter.project_name }} (v2)\n", 1)
    )
    new_decision = "\n## Added in the template's commit B\n\nA decision made after the bake.\n"
    with (template / SLUG / "docs" / "decisions.md").open("a") as decisions:
        decisions.write(new_decision)
    git(template, "commit", "--quiet", "-am", "B")
    commit_b = git(template, "rev-parse", "HEAD")

    behind = cruft(project, "check", check=False)
    assert behind.returncode == 1, behind.stdout
    assert "out of date" in behind.stdout

    cruft(project, "update", "--skip-apply-ask")

    # The untouched file took B as it is.
    assert (project / "docs" / "decisions.md").read_text().endswith(new_decision)
    # The touched one keeps the user's line and shows the conflict for review.
    merged = readme.read_text()
    rejected = project / "README.md.rej"
    assert "# My ML Project, our fork" in merged
    if rejected.exists():
        assert "+# My ML Project (v2)" in rejected.read_text()
    else:
        assert "<<<<<<<" in merged
        assert "# My ML Project (v2)" in merged
    assert json.loads((project / ".cruft.json").read_text())["commit"] == commit_b
    # Only the two files (and the record) changed: no other file was rewritten.
    changed = set(git(project, "diff", "--name-only", "HEAD").split())
    assert changed == {".cruft.json", "README.md", "docs/decisions.md"}
