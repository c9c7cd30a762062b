"""Refresh the generated project's uv.lock after changing its dependencies.

Bakes the template into a scratch folder (orchestrator=kubeflow and storage=s3,
which install the optional `kubeflow` and `s3` groups by default), runs `uv lock`
there, and writes the lock back into the template with the project's name turned
into the template variable again and the one line that depends on those answers
(uv records a non-default `default-groups`) rendered from them: one lock serves
every answer. Run it with the dev environment:
`.venv/bin/python scripts/relock.py [--upgrade]`.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
LOCK = TEMPLATE / "{{cookiecutter.project_slug}}" / "uv.lock"
NAME_VARIABLE = "{{ cookiecutter.__dist_name }}"
ALL_GROUPS = 'default-groups = ["dev", "kubeflow", "s3"]\n'
KUBEFLOW = 'cookiecutter.orchestrator == "kubeflow"'
S3 = 'cookiecutter.storage == "s3"'
GROUPS_OF_THE_ANSWERS = (
    f"{{%- if {KUBEFLOW} or {S3} %}}\n"
    f'default-groups = ["dev"{{% if {KUBEFLOW} %}}, "kubeflow"{{% endif %}}'
    f'{{% if {S3} %}}, "s3"{{% endif %}}]\n'
    "{%- endif %}\n"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="also upgrade every locked package")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(
            cookiecutter(
                str(TEMPLATE),
                no_input=True,
                output_dir=scratch,
                extra_context={
                    "project_name": "relock probe",
                    "orchestrator": "kubeflow",
                    "storage": "s3",
                },
            )
        )
        (project / "uv.lock").unlink(missing_ok=True)
        command = ["uv", "lock", *(["--upgrade"] if args.upgrade else [])]
        subprocess.run(command, cwd=project, check=True)
        text = (project / "uv.lock").read_text(encoding="utf-8")
    pattern = re.compile(r'^name = "relock-probe"$', re.MULTILINE)
    text, count = pattern.subn(f'name = "{NAME_VARIABLE}"', text)
    if count != 1 or "relock-probe" in text:
        sys.exit("could not find exactly one project entry named relock-probe in the new lock")
    if text.count(ALL_GROUPS) != 1:
        sys.exit(f"could not find exactly one line {ALL_GROUPS.strip()!r} in the new lock")
    text = text.replace(ALL_GROUPS, GROUPS_OF_THE_ANSWERS)
    LOCK.write_text(text, encoding="utf-8")
    print(f"wrote {LOCK.relative_to(TEMPLATE)}; commit it with the pyproject.toml change")
    return 0


if __name__ == "__main__":
    sys.exit(main())
