"""Moving a baked project to a new data set, the way its README says: an own-data branch,
its report and gate judged by main's floors, and the explicit first deploy
(`mlops deploy --new-data-set`) against a real `mlflow server` on loopback."""

from __future__ import annotations

import random

import pytest

from .scenario import Scenario, mlflow_server

pytestmark = pytest.mark.slow


def churn_csv(rows: int = 600) -> str:
    """Customers whose churn follows their tenure and plan: data a model can learn."""
    generator = random.Random(7)
    lines = ["customer_id,tenure,monthly_charges,plan,churned"]
    for index in range(rows):
        tenure = generator.randint(1, 71)
        charges = round(generator.gauss(70, 20), 2)
        plan = generator.choice(["basic", "plus", "pro"])
        risk = -0.08 * tenure + (1.5 if plan == "basic" else 0.0) + generator.gauss(0, 0.7)
        churned = "yes" if risk > -1.9 else "no"
        lines.append(f"C{index:05d},{tenure},{charges},{plan},{churned}")
    return "\n".join(lines) + "\n"


def test_an_own_data_branch_is_judged_by_mains_floors_and_deployed_explicitly(
    scenario, tmp_path_factory
):
    flow: Scenario = scenario()
    project = flow.project
    server, url = mlflow_server(flow.project_env, tmp_path_factory.mktemp("mlflow-server"))
    flow.env.update(MLFLOW_TRACKING_URI=url, CI="")
    sh, commit = flow.sh, flow.commit
    try:
        # main: the demo data, run and released.
        flow.repro()
        commit("demo results")
        sh("mlops", "deploy")

        # README, Bring your own data: steps 1 to 4 on a branch.
        sh("git", "checkout", "-qb", "own-data")
        (project / "data" / "input" / "customers.csv").write_text(churn_csv())
        sh("dvc", "add", "data/input/customers.csv")
        params = (project / "params.yaml").read_text()
        params = params.replace("source: sklearn:breast_cancer", "source: data/input/customers.csv")
        params = params.replace("target: target", "target: churned")
        params = params.replace("positive_class: null", "positive_class: 'yes'")
        params = params.replace("suite: breast_cancer", "suite: customers")
        (project / "params.yaml").write_text(params)
        sh("mlops", "suggest-suite")
        ingest = flow.repro()
        assert "customer_id (identifier)" in ingest.stdout
        commit("own data")

        # The report and the gate: a new data set, judged by main's floors.
        report = sh("mlops", "report")
        headline = report.stdout.splitlines()[0]
        assert headline.startswith("✅ Quality gate passed on a new data set: 2 metrics meet")
        assert "target `target` -> `churned`" in headline
        assert "data suite `breast_cancer` -> `customers`" in headline
        markdown = (project / "report.md").read_text()
        assert "### New data set" in markdown and "at least 0.7" in markdown
        gate = sh("mlops", "gate")
        assert "judged by the floors" in gate.stderr
        # A floor the branch raises does not judge it: main's floors do.
        strict = params.replace("abs_tolerance: 0.01, min: 0.7}", "abs_tolerance: 0.01, min: 1.0}")
        assert strict != params
        (project / "params.yaml").write_text(strict)
        assert sh("mlops", "gate").returncode == 0
        (project / "params.yaml").write_text(params)

        # Merged: the plain deploy refuses, naming the flag; the flag releases it, recorded.
        sh("git", "checkout", "-q", "main")
        sh("git", "merge", "-q", "--ff-only", "own-data")
        refused = sh("mlops", "deploy", check=False)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "trained on another data set" in refused.stdout
        assert "`mlops deploy --new-data-set`" in refused.stdout
        released = sh("mlops", "deploy", "--new-data-set")
        assert "--new-data-set: version 1 ('production') was trained on" in released.stdout
        assert "roc_auc meets its floor" in released.stdout
        registry = flow.registry()
        # Released through staging (staging checks passed) to production.
        assert registry["aliases"] == {"staging": "2", "production": "2", "previous": "1"}
        tags = registry["versions"]["2"]["tags"]
        assert (
            "first release on data set target churned (classification), suite customers"
            in (tags["new_data_set"])
        )
        assert "'production' was version 1 before" in tags["new_data_set"]
        assert tags["data_schema"] != registry["versions"]["1"]["tags"]["data_schema"]
        assert "new_data_set" not in registry["versions"]["1"]["tags"]
    finally:
        server.stop()
