"""The noise-aware gate's wiring in the pull-request report workflow (issue 26): the base
worktree reproduces main's pipeline so its per-row outcomes exist for the pairing, the
override label triggers a run, and the judge's steps can ask GitHub who applied it.

The behaviour itself (paired verdicts, slices, the override) is tested in the baked
project's tests/test_noise.py and, run as GitHub runs it, in test_workflow_runs.py.
"""

from __future__ import annotations

import pytest
import yaml

from .conftest import bake

POSTERS = ("builtin", "cml")


@pytest.fixture(scope="module")
def report_workflows(tmp_path_factory) -> dict[str, str]:
    """The baked report.yml of each poster (the sources are templates, rendered by a bake)."""
    baked = {}
    for poster in POSTERS:
        project = bake(tmp_path_factory.mktemp(poster), report_poster=poster)
        baked[poster] = (project / ".github" / "workflows" / "report.yml").read_text("utf-8")
    return baked


def test_there_is_a_report_workflow_per_poster(report_workflows):
    assert all("mlops gate --workspace" in text for text in report_workflows.values())


@pytest.mark.parametrize("poster", POSTERS)
def test_the_report_workflow_pairs_with_main_and_reads_the_override(report_workflows, poster):
    document = yaml.safe_load(report_workflows[poster])
    triggers = document[True]["pull_request"]  # YAML 1.1 reads `on` as true
    assert set(triggers["types"]) == {"opened", "synchronize", "reopened", "labeled"}
    job = document["jobs"]["judge"]
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
