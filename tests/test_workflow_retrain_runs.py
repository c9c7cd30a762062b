"""The retrain and template-update workflows of a bake, run as written under a real Actions
runner (act, on this host, offline; see tests/act_harness.py), with assertions on what the
GitHub API stub, the test's `origin` and the exit status show.

Slow: each retrain run installs the locked environment in a fresh runner folder and runs
the real pipeline. One bake per variant and module, installed once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .act_harness import Repository
from .conftest import TEMPLATE, bake
from .github_stub import StubGitHub, self_signed, serving
from .npm_registry import cml_registry, npm_environment
from .test_monitor import LAND_NEW_DATA, WRITE_UPSTREAM
from .test_workflow_runs import WORSE_MODEL, branch_with, gate_failed_the_job, report_comments

pytestmark = pytest.mark.slow

RETRAIN = "retrain.yaml"
# Drifted but still valid (the data gate lets it through): narrower spreads, 200 rows.
DRIFTED = ["--rows=200", "--seed=7", "--shift-scale=mean_radius=0.3",
           "--shift-scale=mean_area=0.3", "--shift-scale=mean_texture=0.3",
           "--shift-scale=mean_smoothness=0.3"]  # fmt: skip
# Later batches are smaller: the training data must stay inside its row-count band
# (the suite's 284 to 854 rows; 569 to start with, 769 after the first batch).
UNSHIFTED = ["--rows=60", "--seed=11"]
DRIFTED_AGAIN = ["--rows=60", "--seed=8", *DRIFTED[2:]]


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


@pytest.fixture(scope="module")
def builtin(tmp_path_factory, project_env) -> tuple[Repository, Upstream]:
    return prepared(
        tmp_path_factory.mktemp("retrain-builtin"), project_env, report_poster="builtin"
    )


def test_retrain_alerts_once_and_proposes_one_pull_request_builtin(builtin, tls):
    """retrain.yaml of a builtin-poster bake on `schedule`, twice, with a drifted batch, then
    by hand with `retrain: true` and no drift."""
    repository, upstream = builtin
    context, cert = tls
    upstream.land(*DRIFTED)
    with serving(StubGitHub(context)) as github:
        on_the_stub(repository, github, cert)
        first = repository.act("schedule", RETRAIN, {"schedule": "0 6 * * 1"})
        assert first.returncode == 0, first.failed_because()
        assert first.jobs == dict.fromkeys(
            ["Drift and performance check", "Drift alert issue",
             "Retrain and open a pull request"], "success"
        ), first.failed_because()  # fmt: skip
        [issue] = alert_issues(github)
        # "drift", or "drift and degradation" when the labelled batch also scores worse.
        assert issue["title"].startswith("Monitoring: drift")
        assert "drift" in issue["body"].lower()
        [pull] = github.pulls
        assert pull["head"]["ref"] == "retrain/scheduled" and pull["base"]["ref"] == "main"
        assert pull["title"] == "Retrain on the latest data"
        assert "main" in pull["body"]  # the report against main is the body
        tip = repository.git("rev-parse", "retrain/scheduled", cwd=repository.origin)
        assert {"dvc.lock", "metrics.json", "data/input/breast_cancer.csv.dvc"} <= branch_files(
            repository, "retrain/scheduled"
        )

        second = repository.act("schedule", RETRAIN, {"schedule": "0 6 * * 1"})
        assert second.returncode == 0, second.failed_because()
        assert alert_issues(github) == [issue]
        assert [c["issue"] for c in github.comments] == [issue["number"]]
        assert github.pulls == [pull]
        assert ("PATCH", f"/repos/octo/model/pulls/{pull['number']}") in github.requests
        assert repository.git("rev-parse", "retrain/scheduled", cwd=repository.origin) != tip

    upstream.land(*UNSHIFTED)
    with serving(StubGitHub(context)) as github:
        on_the_stub(repository, github, cert)
        dispatched = repository.act(
            "workflow_dispatch",
            RETRAIN,
            {"inputs": {"retrain": True}, "ref": "refs/heads/main",
             "repository": repository.repository_payload()},
            inputs={"retrain": "true"},
        )  # fmt: skip
        assert dispatched.returncode == 0, dispatched.failed_because()
        assert dispatched.jobs == {
            "Drift and performance check": "success",
            "Retrain and open a pull request": "success",
        }, dispatched.failed_because()
        assert github.issues == []
        [pull] = github.pulls
        assert pull["head"]["ref"] == "retrain/scheduled"
    for run in (first, second, dispatched):
        print(f"retrain run: {run.seconds:.0f} s")


@pytest.fixture(scope="module")
def with_cml(tmp_path_factory, project_env) -> tuple[Repository, Upstream]:
    return prepared(tmp_path_factory.mktemp("retrain-cml"), project_env, report_poster="cml")


def test_retrain_with_the_cml_poster_updates_its_pull_request_on_a_second_run(with_cml, tls):
    """retrain.yaml of a cml-poster bake on `schedule`, twice, with a drifted batch: the real
    CML (installed by the workflow's own `npm install`, from a registry stand-in) opens
    the pull request once; the second run's results and report replace the first's."""
    repository, upstream = with_cml
    context, cert = tls
    upstream.land(*DRIFTED)
    with cml_registry() as registry, serving(StubGitHub(context)) as github:
        on_the_stub(repository, github, cert)
        npm, npm_bin = npm_environment(registry, repository.work)
        repository.env.update(npm)
        repository.extra_path.append(npm_bin)
        # CML derives the repository from CML_REPO and sets `origin` to that URL with the
        # token in it; git on this runner sends that URL to the test's bare origin.
        repository.env["CML_REPO"] = f"{github.url}/octo/model"
        with_token = f"https://token:test-token@{github.host}/octo/model.git"
        repository.git(
            "config", "--file", str(repository.home / ".gitconfig"),
            f"url.{repository.origin}.insteadOf", with_token,
        )  # fmt: skip

        first = repository.act("schedule", RETRAIN, {"schedule": "0 6 * * 1"})
        assert first.returncode == 0, first.failed_because()
        assert first.jobs["Retrain and open a pull request"] == "success", first.failed_because()
        [pull] = github.pulls
        assert pull["head"]["ref"] == "retrain/scheduled" and pull["base"]["ref"] == "main"
        assert pull["title"] == "Retrain on the latest data"
        first_body = pull["body"]
        tip = repository.git("rev-parse", "retrain/scheduled", cwd=repository.origin)
        assert {"dvc.lock", "metrics.json"} <= branch_files(repository, "retrain/scheduled")
        [issue] = alert_issues(github)
        assert issue["title"].startswith("Monitoring: drift")

        # New data again: the second run's results replace the branch and the report.
        upstream.land(*DRIFTED_AGAIN)
        second = repository.act("schedule", RETRAIN, {"schedule": "0 6 * * 1"})
        assert second.returncode == 0, second.failed_because()
        assert github.pulls == [pull]  # the same pull request, updated
        assert ("PATCH", f"/repos/octo/model/pulls/{pull['number']}") in github.requests
        assert repository.git("rev-parse", "retrain/scheduled", cwd=repository.origin) != tip
        assert "updated pull request #" in second.log
        assert pull["body"] != first_body
        assert len(alert_issues(github)) == 1 and len(github.comments) == 1
    for run in (first, second):
        print(f"retrain (cml) run: {run.seconds:.0f} s")


@pytest.fixture(scope="module")
def cml_results(tmp_path_factory, project_env) -> Repository:
    """A cml-poster bake whose `main` holds its results, charts published."""
    work = tmp_path_factory.mktemp("report-cml")
    project = bake(work, report_poster="cml")
    project_env.install(project)
    repository = Repository(project, work, project_env)
    params = project / "params.yaml"
    params.write_text(
        params.read_text().replace("publish_images: false", "publish_images: true", 1)
    )
    repository.mlops("dvc", "repro")
    repository.commit("Results of the first run, charts published", push=True)
    return repository


def test_the_pull_request_report_with_the_cml_poster_comments_once_and_the_gate_decides(
    cml_results, tls
):
    """report.yml of a cml-poster bake, charts published (`report.publish_images: true`):
    the real CML, installed by the workflow's own `npm install`, uploads each chart to the
    stub's image host; a harmless change passes with one comment, a worse model fails at
    the gate."""
    repository = cml_results
    context, cert = tls
    workflow = "report.yml"
    with cml_registry() as registry, serving(StubGitHub(context)) as github:
        on_the_stub(repository, github, cert)
        npm, npm_bin = npm_environment(registry, repository.work)
        repository.env.update(npm, CML_ASSET_URL=f"{github.url}/asset")
        repository.extra_path.append(npm_bin)

        branch_with(repository, "harmless", {"README.md": ("# ", "# Harmless: ")})
        harmless = repository.act(
            "pull_request", workflow, repository.pull_request_event(5, "harmless")
        )
        assert harmless.returncode == 0, harmless.failed_because()
        [comment] = report_comments(github, 5)
        assert "Quality gate passed" in comment["body"]
        assert "Reproduced: `dvc repro`" in comment["body"]
        assert github.assets and all(a.startswith(b"\x89PNG") for a in github.assets)
        assert f"{github.url}/assets/" in comment["body"]  # the charts CML uploaded

        branch_with(repository, "worse", WORSE_MODEL)
        worse = repository.act("pull_request", workflow, repository.pull_request_event(6, "worse"))
        assert gate_failed_the_job(worse), worse.failed_because()
        [failed] = report_comments(github, 6)
        assert "Quality gate failed" in failed["body"]
    repository.checkout("main")
    for run in (harmless, worse):
        print(f"pr-report (cml) run: {run.seconds:.0f} s")


TEMPLATE_UPDATE = "template-update.yml"
SLUG = "{{cookiecutter.project_slug}}"


@pytest.fixture(scope="module")
def plain(tmp_path_factory, project_env) -> Repository:
    """A bake as it comes, with its history: the template-update workflow needs no results
    (its runner installs the locked environment from uv's cache, warm from the others)."""
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
