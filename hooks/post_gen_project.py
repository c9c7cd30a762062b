"""Drop the files of options that were not chosen, make the project a git repository, and
print the two commands to run next.

Nothing else happens here: no network, no installs. DVC is initialised by the
`.dvc/` folder the template ships, so the bake does not need DVC installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

# (answer, value) -> paths that exist only for *other* values of that answer.
UNCHOSEN = {
    ("license", "none"): ["LICENSE"],
    # One pull-request workflow per poster: the CML one installs CML with npm.
    ("pr_reporter", "cml"): [".github/workflows/pr-report-builtin.yml"],
    ("pr_reporter", "builtin"): [".github/workflows/pr-report-cml.yml"],
    # Each task ships the GX suite of its own default data set only.
    ("task", "classification"): ["gx/expectations/diabetes.json"],
    ("task", "regression"): ["gx/expectations/breast_cancer.json"],
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
