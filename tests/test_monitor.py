"""Monitoring in a baked project: the real CLI's exit codes, and the retrain path run locally.

One project is baked, installed and trained for the whole module. Its data
source is a DVC import of an "upstream" CSV outside the project, as a real
source would be, so new data can land upstream and `dvc update` can fetch it.
The retrain job's commands are read from the baked workflow and run in order.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
import yaml

from .conftest import bake

pytestmark = pytest.mark.slow

WRITE_UPSTREAM = textwrap.dedent("""
    import sys
    from my_ml_project.core.features import load_sklearn_dataset
    load_sklearn_dataset("breast_cancer", "target").to_csv(sys.argv[1], index=False)
""")
LAND_NEW_DATA = textwrap.dedent("""
    import sys
    import pandas as pd
    upstream, batch = sys.argv[1], sys.argv[2]
    pd.concat([pd.read_csv(upstream), pd.read_parquet(batch)]).to_csv(upstream, index=False)
""")


def workflow_commands(project: Path, job: str) -> list[str]:
    """The project commands (`uv run ...`) of one job of the baked retrain workflow.

    Steps that talk to GitHub (installing CML, pushing the branch and opening the pull
    request) are left out: the test plays their part with git.
    """
    workflow = yaml.safe_load((project / ".github/workflows/retrain.yml").read_text())
    commands = [step["run"].strip() for step in workflow["jobs"][job]["steps"] if "run" in step]
    assert commands[0] == "uv sync --locked"  # the project is installed already
    return [
        c.removeprefix("uv run ")
        for c in commands[1:]
        if c.startswith("uv run ") and not c.startswith("uv run mlops push-branch")
    ]


@pytest.fixture(scope="module")
def project(tmp_path_factory, project_env):
    root = tmp_path_factory.mktemp("monitor")
    project = bake(root)
    project_env.install(project)

    def git(*args: str):
        return project_env.run(["git", *args], cwd=project)

    upstream = root / "upstream" / "breast_cancer.csv"
    upstream.parent.mkdir()
    project_env.run(["python", "-c", WRITE_UPSTREAM, upstream], cwd=project)
    project_env.run(["dvc", "import-url", upstream, "data/input/breast_cancer.csv"], cwd=project)
    params = project / "params.yaml"
    params.write_text(
        params.read_text().replace(
            "source: sklearn:breast_cancer", "source: data/input/breast_cancer.csv"
        )
    )
    project_env.run(["dvc", "repro"], cwd=project)
    git("add", "--all")
    git("-c", "user.name=Test", "-c", "user.email=t@example.com", "commit", "-qm", "Baseline")
    return project, upstream


def monitor(project_env, project: Path, *options: str) -> tuple[int, dict]:
    result = project_env.run(["mlops", "monitor", *options], cwd=project, check=False)
    assert result.returncode in (0, 1, 3), result.stderr
    report = json.loads((project / "reports" / "drift.json").read_text())
    return result.returncode, report


def test_exit_codes_of_the_real_cli(project, project_env):
    project, _ = project
    project_env.run(["mlops", "make-batch"], cwd=project)
    code, report = monitor(project_env, project)
    assert (code, report["status"]) == (0, "ok")
    assert report["performance"]["degraded"] is False

    shifts = ["--shift-mean=mean_radius=1.5", "--shift-mean=worst_texture=1.5"]
    shifts += ["--shift-scale=mean_area=3", "--no-labels", "--output=drifted.csv"]
    project_env.run(["mlops", "make-batch", *shifts], cwd=project)
    code, report = monitor(project_env, project, "--batch", "drifted.csv")
    assert (code, report["status"]) == (1, "drift")
    assert {"mean_radius", "worst_texture", "mean_area"} <= set(report["drift"]["drifted_features"])

    project_env.run(["mlops", "make-batch", "--label-shift=0.3", "--output=x.csv"], cwd=project)
    code, report = monitor(project_env, project, "--batch", "x.csv")
    assert (code, report["status"]) == (1, "degradation")

    invalid = project / "invalid.csv"
    frame_text = (project / "x.csv").read_text().splitlines()
    header = frame_text[0].split(",")
    column = header.index("mean_area")
    rows = [line.split(",") for line in frame_text[1:]]
    rows[0][column] = "n/a"  # text in a numeric column: the GX suite rejects the batch
    invalid.write_text("\n".join([",".join(header), *(",".join(r) for r in rows)]) + "\n")
    code, report = monitor(project_env, project, "--batch", "invalid.csv")
    assert code == 3 and report["status"] == "invalid"
    assert "mean_area" in json.dumps(report["validation"])

    failed = project_env.run(["mlops", "monitor", "--batch", "nope.csv"], cwd=project, check=False)
    assert failed.returncode == 2 and failed.stderr.startswith("error: batch")
    help_text = project_env.run(["mlops", "monitor", "--help"], cwd=project).stdout
    assert "3 the batch failed validation" in " ".join(help_text.split())


def test_the_retrain_path_produces_a_branch_with_new_results(project, project_env, tmp_path):
    project, upstream = project

    def git(*args: str) -> str:
        return project_env.run(["git", *args], cwd=project).stdout.strip()

    # New, drifted data arrives: labelled rows with four features narrowed.
    batch = project / "data" / "monitoring" / "batch.parquet"
    # Drifted but still valid: narrower spreads stay inside the suite's ranges, and 200 new
    # rows keep the data inside its row-count band, so the data gate lets it through.
    shifts = ["--rows=200", "--seed=7", "--shift-scale=mean_radius=0.3"]
    shifts += ["--shift-scale=mean_area=0.3", "--shift-scale=mean_texture=0.3"]
    shifts += ["--shift-scale=mean_smoothness=0.3"]
    project_env.run(["mlops", "make-batch", *shifts], cwd=project)
    project_env.run(["python", "-c", LAND_NEW_DATA, upstream, batch], cwd=project)

    # The monitor job, as the workflow runs it.
    outputs = tmp_path / "github_output"
    for command in workflow_commands(project, "monitor"):
        project_env.run(command.split(), cwd=project, GITHUB_OUTPUT=str(outputs))
    verdicts = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert verdicts["drift"] == "true"

    # The retrain job, as the workflow runs it, then the pull request's branch.
    metrics_before = json.loads((project / "metrics.json").read_text())
    git("switch", "-c", "retrain/scheduled")
    commands = workflow_commands(project, "retrain")
    assert commands[-1] == "mlops report --baseline main --retrained --output report.md"
    for command in commands:
        project_env.run(command.split(), cwd=project)
    report = (project / "report.md").read_text()
    assert "metric" in report.lower() and "main" in report
    # The results are new, for the pull request to commit: not a committed result that
    # failed to reproduce.
    assert "- Retrained here: these results are new" in report
    assert "not what CI recomputed" not in report and "Not reproduced" not in report
    # The pull request commits every change the run made (the workflow names no paths).
    git("add", "--all")
    git("-c", "user.name=Bot", "-c", "user.email=b@example.com", "commit", "-qm", "Retrain")
    assert git("status", "--porcelain") == ""

    # What the deploy after the merge sees: a fresh checkout of the branch, its outputs
    # pulled from the remote the retrain job pushed to, all matching dvc.lock.
    clone = project.parent / "merged"
    git("clone", "--quiet", "--branch=retrain/scheduled", str(project), str(clone))
    project_env.run(["dvc", "pull", "--quiet"], cwd=clone)
    status = project_env.run(["dvc", "status", "--json"], cwd=clone)
    assert json.loads(status.stdout) == {}, status.stdout

    changed = set(git("diff", "--name-only", "main", "retrain/scheduled").split())
    assert {"dvc.lock", "metrics.json", "data/input/breast_cancer.csv.dvc"} <= changed
    assert json.loads((project / "metrics.json").read_text()) != metrics_before
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    raw_rows = project_env.run(
        [
            "python",
            "-c",
            "import pandas as pd; print(len(pd.read_parquet('data/raw/data.parquet')))",
        ],
        cwd=project,
    )
    assert int(raw_rows.stdout) == 569 + 200
    assert lock["stages"]["train"]["outs"]
    assert os.path.exists(project / "models" / "model" / "MLmodel")
