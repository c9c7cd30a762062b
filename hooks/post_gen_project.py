"""Drop the files of options that were not chosen, record where the template came from,
make the project a git repository, and print the two commands to run next.

Nothing else happens here: no network, no installs. DVC is initialised by the
`.dvc/` folder the template ships, so the bake does not need DVC installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

# (answer, value) -> paths that exist only for *other* values of that answer.
UNCHOSEN = {
    ("license", "none"): ["LICENSE"],
    # One source of the report workflow per poster (the CML one installs CML with npm);
    # `install_chosen` below installs the chosen one as report.yml.
    ("report_poster", "cml"): [".github/workflows/report-builtin.yml"],
    ("report_poster", "builtin"): [".github/workflows/report-cml.yml"],
    # Each task ships the GX suite of its own default data set only.
    ("task", "classification"): ["gx/expectations/diabetes.json"],
    ("task", "regression"): ["gx/expectations/breast_cancer.json"],
    # Kubeflow Pipelines: the compile/submit workflow and the tests that need kfp (the
    # Dockerfile stays: every project serves its model from the same image).
    # The kfp modules of the package stay (`mlops kfp` says how to install the SDK).
    ("orchestrator", "dvc"): [
        ".github/workflows/kubeflow.yml",
        "tests/test_kfp.py",
    ],
}


# (answer, source path formatted with the answer) -> the one path every bake has.
CHOSEN = {
    ("report_poster", ".github/workflows/report-{}.yml"): ".github/workflows/report.yml",
}


def remove_unchosen(root: Path, answers: dict) -> None:
    for (key, value), paths in UNCHOSEN.items():
        if answers.get(key) != value:
            continue
        for relative in paths:
            target = root / relative
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()


def install_chosen(root: Path, answers: dict) -> None:
    """Move the source of each chosen variant to its one name (report-cml.yml -> report.yml)."""
    for (key, source), target in CHOSEN.items():
        chosen = root / source.format(answers[key])
        if chosen.exists():
            chosen.replace(root / target)


def template_checkout(answers: dict) -> Path | None:
    """The local folder cookiecutter rendered: the template itself, or its clone of a URL.

    `_repo_dir` is relative when the template was given as a relative path, and this
    hook runs inside the new project, so it is resolved where cookiecutter was run.
    """
    repo_dir = Path(str(answers.get("_repo_dir") or ""))
    if not str(answers.get("_repo_dir") or ""):
        return None
    if repo_dir.is_absolute():
        return repo_dir
    for base in (os.environ.get("PWD"), answers.get("_output_dir")):
        if base and (Path(base) / repo_dir / "cookiecutter.json").is_file():
            return (Path(base) / repo_dir).resolve()
    return None


def template_origin(answers: dict) -> tuple[str, str | None, str] | None:
    """(template URL, directory inside it, commit) of the template being baked, or None.

    A template given as a URL (or `gh:` abbreviation) is recorded by the URL its clone
    came from; a local one by its absolute path. Read locally, no network.
    """
    checkout = template_checkout(answers)
    if checkout is None or shutil.which("git") is None:
        return None

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(checkout), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "HEAD")
    top = git("rev-parse", "--show-toplevel")
    if not commit or not top:
        return None
    inside = checkout.resolve().relative_to(Path(top).resolve()).as_posix()
    given = str(answers.get("_template", ""))
    remote = "://" in given or "@" in given or given.split(":", 1)[0] in {"gh", "gl", "bb"}
    url = git("remote", "get-url", "origin") if remote else str(Path(top).resolve())
    if not url:
        return None
    return url, (None if inside == "." else inside), commit


def record_template(root: Path, answers: dict) -> None:
    """Write `.cruft.json`, so `cruft check` and `cruft update` can follow the template.

    Under cruft itself (`cruft create`/`update`, which set `_commit`) cruft writes
    the file, so nothing is recorded here.
    """
    if "_commit" in answers:
        return
    origin = template_origin(answers)
    if origin is None:
        print(
            "The template is not a git checkout: no .cruft.json written, so `cruft update`"
            " cannot follow it (bake from the template's git repository to enable it).",
            file=sys.stderr,
        )
        return
    url, directory, commit = origin
    context = {key: value for key, value in answers.items() if not key.startswith("_")}
    context.update(_template=url, _commit=commit)
    state = {
        "template": url,
        "commit": commit,
        "checkout": answers.get("_checkout") or None,
        "context": {"cookiecutter": context},
        "directory": directory,
    }
    text = json.dumps(state, ensure_ascii=False, indent=2, separators=(",", ": "))
    (root / ".cruft.json").write_text(text + "\n", encoding="utf-8")


def init_git(root: Path, answers: dict) -> None:
    if shutil.which("git") is None:
        print("git not found: run `git init -b main` in the project yourself.", file=sys.stderr)
        return

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)

    try:
        git("init", "--initial-branch=main")
        git("add", "--all")
        git(
            "-c",
            f"user.name={answers['author_name']}",
            "-c",
            f"user.email={answers['author_email']}",
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            "Initial commit from the MLOps template",
        )
    except subprocess.CalledProcessError as error:
        print(f"git {' '.join(error.cmd[1:2])} failed: {error.stderr.strip()}", file=sys.stderr)


def main() -> int:
    answers = json.loads(r"""{{ cookiecutter | tojson }}""")
    root = Path.cwd()
    remove_unchosen(root, answers)
    install_chosen(root, answers)
    record_template(root, answers)
    if "_commit" not in answers:  # cruft renders into scratch folders: no repository there
        init_git(root, answers)
    print(next_steps(root.name))
    return 0


def next_steps(slug: str) -> str:
    """What the bake prints last: the two commands that install and run the project."""
    return (
        f"Created {slug}/ (a git repository on main). Next:\n"
        f"  cd {slug}\n"
        "  uv sync --locked && uv run dvc repro"
    )


if __name__ == "__main__":
    sys.exit(main())
