"""The noise-aware gate's wiring in the pull-request report workflow (issue 26): the base
worktree reproduces main's pipeline so its per-row outcomes exist for the pairing, the
override label triggers a run, and the judge's steps can ask GitHub who applied it.

The behaviour itself (paired verdicts, slices, the override) is tested in the baked
project's tests/test_noise.py and, run as GitHub runs it, in test_workflow_runs.py.
"""

from __future__ import annotations

import pytest
import yaml

from .conftest import TEMPLATE

WORKFLOWS = TEMPLATE / "{{cookiecutter.project_slug}}" / ".github" / "workflows"
REPORT_WORKFLOWS = sorted(
    path for path in WORKFLOWS.glob("*.yml") if "mlops gate --workspace" in path.read_text()
)


def test_there_is_a_report_workflow_per_poster():
    assert len(REPORT_WORKFLOWS) >= 1


@pytest.mark.parametrize("path", REPORT_WORKFLOWS, ids=lambda path: path.name)
def test_the_report_workflow_pairs_with_main_and_reads_the_override(path):
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    triggers = document[True]["pull_request"]  # YAML 1.1 reads `on` as true
    assert set(triggers["types"]) == {"opened", "synchronize", "reopened", "labeled"}
    [job] = document["jobs"].values()
    steps = job["steps"]
    base = "${{ runner.temp }}/base"

    def index(command: str) -> int:
        [found] = [i for i, step in enumerate(steps) if command in step.get("run", "")]
        return found

    reproduce = index("dvc repro evaluate")
    assert steps[reproduce]["working-directory"] == base
    assert "--locked" in steps[reproduce]["run"]
    for command in ("mlops report --workspace", "mlops gate --workspace"):
        step = steps[index(command)]
        assert index(command) > reproduce
        assert step["working-directory"] == base
        assert step["env"]["GITHUB_TOKEN"] == "${{ github.token }}"
    assert job["permissions"]["pull-requests"] in ("read", "write")
