"""Refresh the generated project's uv.lock after changing its dependencies.

Bakes the template into a scratch folder (orchestrator=kubeflow, which installs
the optional `kubeflow` group by default), runs `uv lock` there, and writes the
lock back into the template with the project's name turned into the template
variable again and the one line that depends on the orchestrator (uv records a
non-default `default-groups`) inside a Jinja condition: one lock serves both
answers. Run it with the dev environment:
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
KUBEFLOW_GROUPS = 'default-groups = ["dev", "kubeflow"]\n'
WHEN_KUBEFLOW = '{%- if cookiecutter.orchestrator == "kubeflow" %}\n'


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
                extra_context={"project_name": "relock probe", "orchestrator": "kubeflow"},
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
    if text.count(KUBEFLOW_GROUPS) != 1:
        sys.exit(f"could not find exactly one line {KUBEFLOW_GROUPS.strip()!r} in the new lock")
    text = text.replace(KUBEFLOW_GROUPS, WHEN_KUBEFLOW + KUBEFLOW_GROUPS + "{%- endif %}\n")
    LOCK.write_text(text, encoding="utf-8")
    print(f"wrote {LOCK.relative_to(TEMPLATE)}; commit it with the pyproject.toml change")
    return 0


if __name__ == "__main__":
    sys.exit(main())
