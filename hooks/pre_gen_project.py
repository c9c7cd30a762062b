"""Validate every cookiecutter answer before a single project file is written.

Cookiecutter renders this file with the answers, runs it, and deletes the new
project directory when it exits non-zero. `validate()` is plain Python so the
template's tests can call it directly.
"""

from __future__ import annotations

import json
import keyword
import os
import re
import sys
from pathlib import Path

CHOICES = {
    "python_version": ("3.11", "3.12", "3.13"),
    "task": ("classification", "regression"),
    "license": ("MIT", "Apache-2.0", "BSD-3-Clause", "none"),
    "report_poster": ("cml", "builtin"),
    "orchestrator": ("dvc", "kubeflow"),
    "storage": ("local", "s3"),
}

# Top-level modules the generated project imports (or that its tools rely on):
# a package with one of these names would shadow the real one.
SHADOWED_MODULES = frozenset(
    {
        "dvc",
        "great_expectations",
        "mlflow",
        "numpy",
        "pandas",
        "pyarrow",
        "pytest",
        "scipy",
        "sklearn",
        "test",
        "tests",
        "yaml",
        *sys.stdlib_module_names,
    }
)

# Answers the template has renamed: old name -> new name. `cruft update` carries a
# project's recorded answers over by name, so an old name would be dropped silently.
RENAMED = {"pr_reporter": "report_poster"}

SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
PACKAGE_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
# A GitHub user (@name) or team (@org/team), as CODEOWNERS names them.
GITHUB_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
OWNER_RE = re.compile(rf"^@{GITHUB_NAME}(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)?$")

# Cron fields as GitHub Actions reads them (UTC): name, lowest, highest, names allowed.
CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    (
        "month",
        1,
        12,
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
    ),
    ("day of week", 0, 6, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)
CRON_ITEM_RE = re.compile(r"^(\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/([0-9]+))?$")


def cron_problem(expression: str) -> str | None:
    """Why a schedule is not a 5-field cron expression GitHub accepts, or None if it is."""
    fields = str(expression).split()
    if len(fields) != len(CRON_FIELDS):
        return f"has {len(fields)} fields, not 5 (minute hour day-of-month month day-of-week)"
    for text, (name, low, high, names) in zip(fields, CRON_FIELDS, strict=True):
        for item in text.split(","):
            match = CRON_ITEM_RE.match(item)
            if not match:
                return f"{name} field {text!r} is not a cron field"
            bounds, step = match.groups()
            if step is not None and int(step) < 1:
                return f"{name} field {text!r} has a step of 0"
            if bounds == "*":
                continue
            for value in bounds.split("-"):
                if value.upper() in names:
                    continue
                if not value.isdigit() or not low <= int(value) <= high:
                    return f"{name} field {text!r}: {value!r} is outside {low}-{high}"
    return None


def validate(answers: dict) -> list[str]:
    """Return one message per bad answer: what is wrong and what would be accepted."""
    errors = []

    if not str(answers.get("project_name", "")).strip():
        errors.append("project_name is empty: give the project a name, e.g. 'Churn Model'.")

    name = str(answers.get("project_name", "")).strip()
    slug = answers.get("project_slug", "")
    package = answers.get("package_name", "")
    if name and not slug:
        # The slug (and the package name after it) is derived from the name: the name
        # is the answer to fix.
        errors.append(
            f"project_name {name!r} gives an empty project_slug (it has no letters or "
            "digits to make a directory name of): use a name with letters, e.g. "
            "'Churn Model', or answer project_slug yourself."
        )
    elif not SLUG_RE.match(slug) or len(slug) > 100:
        errors.append(
            f"project_slug {slug!r} is not a valid directory name: use lowercase ASCII "
            "letters, digits and single '-' or '_' between them, starting with a letter "
            "(at most 100 characters), e.g. 'churn-model'."
        )

    if not package and not slug:
        pass  # named above: the answer the empty names come from
    elif not PACKAGE_RE.match(package):
        errors.append(
            f"package_name {package!r} is not a valid Python identifier: use lowercase "
            "ASCII letters, digits and '_', not starting with a digit, e.g. 'churn_model'."
        )
    elif keyword.iskeyword(package) or keyword.issoftkeyword(package):
        errors.append(
            f"package_name {package!r} is a Python keyword: choose another name, "
            f"e.g. '{package}_model'."
        )
    elif package in SHADOWED_MODULES:
        errors.append(
            f"package_name {package!r} would shadow the module of the same name that the "
            f"project imports: choose another name, e.g. '{package}_project'."
        )

    email = str(answers.get("author_email", ""))
    if not EMAIL_RE.match(email):
        errors.append(
            f"author_email {email!r} is not an email address: use the form 'name@example.com'."
        )

    for key in ("author_name", "description"):
        if "\n" in str(answers.get(key, "")) or "\r" in str(answers.get(key, "")):
            errors.append(f"{key} contains a line break: give it on one line.")

    problem = cron_problem(answers.get("retrain_cron", ""))
    if problem:
        errors.append(
            f"retrain_cron {answers.get('retrain_cron')!r} {problem}: give five fields in UTC, "
            "e.g. '0 6 * * 1' (Mondays 06:00)."
        )

    owners = str(answers.get("code_owners", "")).split()
    not_owners = [owner for owner in owners if not OWNER_RE.match(owner)]
    if not owners or not_owners:
        problem = (
            f"names {', '.join(map(repr, not_owners))}, which is not a GitHub user or team"
            if not_owners
            else "names no owner"
        )
        errors.append(
            f"code_owners {answers.get('code_owners', '')!r} {problem}: give GitHub users "
            "(@name) or teams (@org/team) separated by spaces, e.g. '@ada @your-org/ml-reviewers'."
        )

    for key, allowed in CHOICES.items():
        value = answers.get(key)
        if value not in allowed:
            errors.append(
                f"{key} {value!r} is not a known choice: use one of {', '.join(allowed)}."
            )
    return errors


def renamed_answer(answers: dict, recorded: dict) -> str | None:
    """Why `cruft update` would change an answer the project recorded under an old name.

    `recorded` is the project's `.cruft.json` context. An old answer whose value the
    new name keeps anyway (the default) needs nothing; one it would change stops the update.
    """
    for old, new in RENAMED.items():
        if old not in recorded or new in recorded or recorded[old] == answers.get(new):
            continue
        value = recorded[old]
        choice = json.dumps({new: value})
        return (
            f"error: the answer {old} is now called {new}; this project answered {value!r}, "
            f"which the update would change to {answers.get(new)!r}: keep it with "
            f"`cruft update --variables-to-update '{choice}'`"
        )
    return None


def recorded_answers() -> dict:
    """The answers in `.cruft.json` of the project `cruft update` runs in (its working
    directory, which the shell's PWD still names), or {} outside an update."""
    cruft = Path(os.environ.get("PWD", "")) / ".cruft.json"
    try:
        return json.loads(cruft.read_text(encoding="utf-8"))["context"]["cookiecutter"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def main() -> int:
    answers = json.loads(r"""{{ cookiecutter | tojson }}""")
    if "_commit" in answers:  # rendered by cruft (create or update)
        problem = renamed_answer(answers, recorded_answers())
        if problem:
            print(problem, file=sys.stderr)
            return 1
    errors = validate(answers)
    if errors:
        print(
            "The project was not generated; fix these answers and run cookiecutter again:",
            file=sys.stderr,
        )
        for error in errors:
            print(f"  - {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
