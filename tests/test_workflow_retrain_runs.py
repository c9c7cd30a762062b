"""The retrain and template-update workflows of a bake, run as written under a real Actions
runner (act, on this host, offline; see tests/act_harness.py), with assertions on what the
GitHub API stub, the test's `origin` and the exit status show.

Slow: the retrain run installs the locked environment in a fresh runner folder and runs
the real pipeline. One flow per workflow path: the builtin poster's retrain (drift, the
alert issue, the retraining and its pull request); the template update, moved and out of
reach. The cml poster's retrain differs only in its last steps: `mlops push-branch`,
whose update of an open pull request on a second run the baked unit test
tests/test_push_branch.py covers, and `cml pr create`, which is CML's own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .act_harness import Repository
from .conftest import TEMPLATE, bake
from .github_stub import StubGitHub, self_signed, serving
from .test_monitor import LAND_NEW_DATA, WRITE_UPSTREAM

pytestmark = pytest.mark.slow

RETRAIN = "retrain.yml"
# Drifted but still valid (the data gate lets it through): narrower spreads, 200 rows.
DRIFTED = ["--rows=200", "--seed=7", "--shift-scale=mean_radius=0.3",
           "--shift-scale=mean_area=0.3", "--shift-scale=mean_texture=0.3",
           "--shift-scale=mean_smoothness=0.3"]  # fmt: skip
# The first batch, on main before any run: like the training data.
UNSHIFTED = ["--rows=60", "--seed=11"]


class Upstream:
    """Where new data lands outside the project: the training source and the monitoring
    batch, each a DVC import in the project, and the DVC remote (storage=local), a folder
    every runner on this host reaches."""

    def __init__(self, repository: Repository):
        self.repository = repository
        root = repository.work / "upstream"
        root.mkdir()
        self.training = root / "breast_cancer.csv"
        self.batch = root / "batch.parquet"
        self.remote = root / "dvc-remote"

    def land(self, *shifts: str) -> None:
        """A new batch arrives: the monitor reads it, and its rows join the training data."""
        repository = self.repository
        repository.mlops("mlops", "make-batch", *shifts, f"--output={self.batch}")
        repository.mlops("python", "-c", LAND_NEW_DATA, str(self.training), str(self.batch))


def prepared(work: Path, project_env, **answers: str) -> tuple[Repository, Upstream]:
    """A bake whose `main` holds its results, its sources imported from upstream and its
    outputs pushed to the remote: what a runner starts from."""
    project = bake(work, **answers)
    project_env.install(project)
    repository = Repository(project, work, project_env)
    upstream = Upstream(repository)
    repository.mlops("dvc", "remote", "modify", "local", "url", str(upstream.remote))
    repository.mlops("python", "-c", WRITE_UPSTREAM, str(upstream.training))
    repository.mlops("dvc", "import-url", str(upstream.training), "data/input/breast_cancer.csv")
    params = project / "params.yaml"
    params.write_text(
        params.read_text().replace(
            "source: sklearn:breast_cancer", "source: data/input/breast_cancer.csv"
        )
    )
    repository.mlops("dvc", "repro")
    repository.mlops("mlops", "make-batch", *UNSHIFTED, f"--output={upstream.batch}")
    repository.mlops("dvc", "import-url", str(upstream.batch), "data/monitoring/batch.parquet")
    repository.mlops("dvc", "push")
    repository.commit("Results of the first run, sources imported", push=True)
    return repository, upstream


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp("tls"))


def on_the_stub(repository: Repository, github: StubGitHub, cert: Path) -> None:
    """Point the runner's gh, the stand-ins and the project's commands at the stub."""
    repository.env.update(
        GITHUB_API_URL=github.url,
        GITHUB_SERVER_URL=github.url,
        GH_HOST=github.host,
        # gh reads a host other than github.com's token from GH_ENTERPRISE_TOKEN.
        GH_ENTERPRISE_TOKEN="test-token",
        SSL_CERT_FILE=str(cert),
        NODE_EXTRA_CA_CERTS=str(cert),
    )


def branch_files(repository: Repository, branch: str) -> set[str]:
    changed = repository.git("diff", "--name-only", "main", branch, cwd=repository.origin)
    return set(changed.split())


def alert_issues(github: StubGitHub) -> list[dict]:
    return [i for i in github.issues if {"name": "drift-alert"} in i["labels"]]


def test_a_scheduled_retrain_alerts_on_drift_and_proposes_the_retrained_results(
    tmp_path_factory, project_env, tls
):
    """retrain.yml of a builtin-poster bake on `schedule`, with a drifted batch: the monitor
    finds drift, the alert opens one issue, the retrain job reruns the pipeline on the new
    data and opens the pull request through the stub, its report as the body."""
    work = tmp_path_factory.mktemp("retrain-builtin")
    repository, upstream = prepared(work, project_env, report_poster="builtin")
    context, cert = tls
    upstream.land(*DRIFTED)
    with serving(StubGitHub(context)) as github:
        on_the_stub(repository, github, cert)
        run = repository.act("schedule", RETRAIN, {"schedule": "0 6 * * 1"})
        assert run.returncode == 0, run.failed_because()
        assert run.jobs == dict.fromkeys(
            ["Drift and performance check", "Drift alert issue",
             "Retrain and open a pull request"], "success"
        ), run.failed_because()  # fmt: skip
        [issue] = alert_issues(github)
        # "drift", or "drift and degradation" when the labelled batch also scores worse.
        assert issue["title"].startswith("Monitoring: drift")
        assert "drift" in issue["body"].lower()
        [pull] = github.pulls
        assert pull["head"]["ref"] == "retrain/scheduled" and pull["base"]["ref"] == "main"
        assert pull["title"] == "Retrain on the latest data"
        # The body is the report against main, and says the results are new ones.
        body = pull["body"]
        assert body.startswith("## ") and "`main`" in body
        assert "- Retrained in CI: these results are new" in body
        assert "not what CI recomputed" not in body and "Not reproduced" not in body
        assert {"dvc.lock", "metrics.json", "data/input/breast_cancer.csv.dvc"} <= branch_files(
            repository, "retrain/scheduled"
        )
    print(f"retrain run: {run.seconds:.0f} s")


TEMPLATE_UPDATE = "template-update.yml"
SLUG = "{{cookiecutter.project_slug}}"


@pytest.fixture(scope="module")
def plain(tmp_path_factory, project_env) -> Repository:
    """A bake as it comes, with its history: the template-update workflow needs no results
    (its runner installs the locked environment from uv's cache, warm from the install)."""
    work = tmp_path_factory.mktemp("template-update")
    return Repository(bake(work, report_poster="builtin"), work, project_env)


def test_template_update_proposes_a_moved_template_and_skips_one_out_of_reach(plain, tls):
    """template-update.yml by hand: against a template with a newer commit, the update
    pull request; against a template recorded as a path the runner does not have (a bake
    from a local path, as the quick start makes), one line, nothing proposed, green."""
    repository = plain
    context, cert = tls
    state_file = repository.path / ".cruft.json"
    state = json.loads(state_file.read_text(encoding="utf-8"))
    # The template's repository, with the commit this project was baked from, then one more.
    template = repository.work / "template"
    repository.git("clone", "--quiet", "--no-local", str(TEMPLATE), str(template))
    repository.git("checkout", "--quiet", "-B", "main", state["commit"], cwd=template)
    decisions = template / SLUG / "docs" / "decisions.md"
    decisions.write_text(decisions.read_text() + "\n## Added after the bake\n\nA decision.\n")
    repository.git("commit", "--quiet", "-am", "A newer template commit", cwd=template)
    newest = repository.git("rev-parse", "HEAD", cwd=template)
    dispatch = {"inputs": {}, "ref": "refs/heads/main",
                "repository": repository.repository_payload()}  # fmt: skip

    repository.checkout("main")
    state_file.write_text(json.dumps({**state, "template": str(template)}, indent=2) + "\n")
    repository.commit("Follow the template's repository", push=True)
    with serving(StubGitHub(context)) as github:
        on_the_stub(repository, github, cert)
        moved = repository.act("workflow_dispatch", TEMPLATE_UPDATE, dispatch)
        assert moved.returncode == 0, moved.failed_because()
        assert moved.jobs == {
            "Is the template ahead?": "success",
            "Open a pull request with the template's changes": "success",
        }, moved.failed_because()
        assert f"moved from {state['commit'][:12]} to {newest[:12]}" in moved.log
        [pull] = github.pulls
        assert (
            pull["head"]["ref"] == "template-update" and pull["title"] == "Update from the template"
        )
        proposed = repository.git("show", "template-update:.cruft.json", cwd=repository.origin)
        assert json.loads(proposed)["commit"] == newest
        assert {".cruft.json", "docs/decisions.md"} <= branch_files(repository, "template-update")

    out_of_reach = repository.work / "a-laptop" / "template"
    state_file.write_text(json.dumps({**state, "template": str(out_of_reach)}, indent=2) + "\n")
    repository.commit("Baked from a local path", push=True)
    with serving(StubGitHub(context)) as github:
        on_the_stub(repository, github, cert)
        unreachable = repository.act("workflow_dispatch", TEMPLATE_UPDATE, dispatch)
        assert unreachable.returncode == 0, unreachable.failed_because()
        assert unreachable.jobs == {"Is the template ahead?": "success"}, (
            unreachable.failed_because()
        )
        [line] = [x for x in unreachable.log.splitlines() if "template-check:" in x]
        assert f"the template {out_of_reach} cannot be reached from here" in line
        assert github.pulls == [] and not any(m == "POST" for m, _ in github.requests)
    for run in (moved, unreachable):
        print(f"template-update run: {run.seconds:.0f} s")
