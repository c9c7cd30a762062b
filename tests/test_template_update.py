"""A baked project follows its template with cruft: `.cruft.json` and `cruft update`."""

from __future__ import annotations

import json
import os
import shlex
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
    """Run cruft in `project` as from a shell there (which sets PWD, as the hooks read it)."""
    executable = shutil.which("cruft")
    if executable is None:
        pytest.fail("cruft is not on PATH: run the tests with `make test`, which installs it")
    env = {**os.environ, "PWD": str(project)}
    return run([executable, *args], cwd=project, env=env, check=check, timeout=300)


def template_repository(folder: Path) -> Path:
    """A git repository of the template's working tree as it is now (tracked and new files)."""
    listed = run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=TEMPLATE
    ).stdout
    for name in filter(None, listed.split("\0")):
        source = TEMPLATE / name
        if source.is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)
    git(folder, "init", "--quiet", "--initial-branch=main")
    return folder


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
    template = template_repository(tmp_path / "template")
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


@pytest.mark.slow
def test_an_answer_renamed_by_the_template_keeps_its_value_across_an_update(tmp_path):
    """A project baked when `report_poster` was called `pr_reporter` (before issue 24)."""
    template = template_repository(tmp_path / "template")
    # Commit A: the template with the answer under its old name.
    renamed = {}
    for path in template.rglob("*"):
        try:
            text = path.read_text(encoding="utf-8") if path.is_file() else ""
        except UnicodeDecodeError:
            continue
        if "report_poster" in text:
            renamed[path] = text
            path.write_text(text.replace("report_poster", "pr_reporter"), encoding="utf-8")
    assert template / "cookiecutter.json" in renamed
    git(template, "add", "--all")
    git(template, "commit", "--quiet", "-m", "A")
    project = Path(
        cookiecutter(
            str(template),
            no_input=True,
            output_dir=str(tmp_path / "out"),
            extra_context={"pr_reporter": "builtin"},
        )
    )
    recorded = json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]
    assert recorded["pr_reporter"] == "builtin" and "report_poster" not in recorded
    report = project / ".github" / "workflows" / "report.yml"
    assert "--poster builtin" in report.read_text()

    # Commit B: the answer's new name. The default (cml) would switch the poster silently.
    for path, text in renamed.items():
        path.write_text(text, encoding="utf-8")
    git(template, "commit", "--quiet", "-am", "B")

    refused = cruft(project, "update", "--skip-apply-ask", check=False)
    assert refused.returncode != 0
    [line] = [x for x in (refused.stdout + refused.stderr).splitlines() if "pr_reporter" in x]
    assert line.startswith("error: the answer pr_reporter is now called report_poster")
    assert git(project, "status", "--porcelain") == ""
    assert "--poster builtin" in report.read_text()

    # The command the line names keeps the choice.
    named = shlex.split(line.split("`")[1])
    assert named[:2] == ["cruft", "update"]
    cruft(project, *named[1:], "--skip-apply-ask")
    assert "--poster builtin" in report.read_text()
    params = (project / "params.yaml").read_text()
    assert "poster: builtin" in params
    recorded = json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]
    assert recorded["report_poster"] == "builtin"
