"""The retrain and template-update workflows of a bake, run as written under a real Actions
runner (act, on this host, offline; see tests/act_harness.py), with assertions on what the
GitHub API stub, the test's `origin` and the exit status show.

Slow: each retrain run installs the locked environment in a fresh runner folder and runs
the real pipeline. The flows: for the builtin poster, a scheduled run on drift (the alert
issue, the retraining and its pull request), then a run by hand with `retrain: true` on a
batch that did not drift (a pull request, no alert); for the cml poster, two scheduled
runs on drift, the second a week later on newer data (a comment on the open alert issue,
the same pull request updated), with CML installed by the workflow's own `npm install`
from a loopback registry (tests/npm_registry.py) and talking to the stub over HTTPS; and
the template update, moved and out of reach.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .act_harness import Repository
from .conftest import TEMPLATE, bake
from .github_stub import CML_TARBALL, StubGitHub, self_signed, serving
from .npm_registry import VERSION as NAME_VERSION
from .npm_registry import NpmRegistry
from .test_monitor import LAND_NEW_DATA, WRITE_UPSTREAM

pytestmark = pytest.mark.slow

RETRAIN = "retrain.yml"
# Drifted but still valid (the data gate lets it through): narrower spreads, 200 rows.
DRIFTED = ["--rows=200", "--seed=7", "--shift-scale=mean_radius=0.3",
           "--shift-scale=mean_area=0.3", "--shift-scale=mean_texture=0.3",
           "--shift-scale=mean_smoothness=0.3"]  # fmt: skip
# A week later, drifted again, other rows.
# (80 rows: the training data stays within the row count its suite allows, 1.5x.)
DRIFTED_AGAIN = ["--rows=80", "--seed=8", *DRIFTED[2:]]
# The first batch, on main before any run: like the training data.
UNSHIFTED = ["--rows=60", "--seed=11"]
# New rows like the training data: nothing drifted, and enough of them that the
# labelled rows score within tolerance (60 such rows can miss it by chance).
UNSHIFTED_NEW = ["--rows=200", "--seed=13"]


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

    def new_batch(self, *shifts: str) -> None:
        """A new batch for the monitor to read."""
        self.repository.mlops("mlops", "make-batch", *shifts, f"--output={self.batch}")

    def land(self, *shifts: str) -> None:
        """A new batch arrives: the monitor reads it, and its rows join the training data."""
        self.new_batch(*shifts)
        self.repository.mlops("python", "-c", LAND_NEW_DATA, str(self.training), str(self.batch))


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


def dispatch(repository: Repository, **inputs: str) -> dict:
    """The workflow_dispatch event for main, with the inputs a user ticked (as strings, as
    GitHub sends them in the event)."""
    return {"inputs": inputs, "ref": "refs/heads/main",
            "repository": repository.repository_payload()}  # fmt: skip


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
    data and opens the pull request through the stub, its report as the body. Then, that
    pull request closed unmerged and a batch that did not drift in, a run by hand with
    `retrain: true`: no alert, and a new pull request."""
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
        first_head = repository.git("rev-parse", "retrain/scheduled", cwd=repository.origin)

        # The team closes it unmerged; the next batch did not drift; someone asks for a
        # retraining by hand.
        pull["state"] = "closed"
        upstream.new_batch(*UNSHIFTED_NEW)
        by_hand = repository.act("workflow_dispatch", RETRAIN, dispatch(repository, retrain="true"))
        assert by_hand.returncode == 0, by_hand.failed_because()
        # No drift, so no alert job; the input alone starts the retraining.
        assert by_hand.jobs == dict.fromkeys(
            ["Drift and performance check", "Retrain and open a pull request"], "success"
        ), by_hand.failed_because()
        assert github.comments_on(issue["number"]) == [] and alert_issues(github) == [issue]
        [_, reopened] = github.pulls
        assert reopened["state"] == "open" and reopened["head"]["ref"] == "retrain/scheduled"
        assert "- Retrained in CI: these results are new" in reopened["body"]
        assert reopened["number"] != pull["number"]
        assert "monitor: ok; 0/30 features drifted" in by_hand.log
        assert repository.git("rev-parse", "retrain/scheduled", cwd=repository.origin) != (
            first_head
        )
    for each in (run, by_hand):
        print(f"retrain run: {each.seconds:.0f} s")


@pytest.fixture(scope="module")
def cml_bake(tmp_path_factory, project_env) -> tuple[Repository, Upstream]:
    """A cml-poster bake, prepared as for the builtin one; CML's npm prefix on its PATH."""
    work = tmp_path_factory.mktemp("cml")
    repository, upstream = prepared(work, project_env, report_poster="cml")
    repository.extra_path.append(work / "npm-global" / "bin")
    return repository, upstream


@contextmanager
def with_cml(repository: Repository, tls) -> Iterator[tuple[StubGitHub, NpmRegistry]]:
    """The GitHub stub (API and git over HTTPS) and the npm registry holding CML, with the
    runner's environment pointed at them."""
    context, cert = tls
    with serving(StubGitHub(context)) as github, serving(NpmRegistry(CML_TARBALL)) as npm:
        on_the_stub(repository, github, cert)
        github.git_dir = repository.origin
        repository.env.update(
            npm_config_registry=npm.url,
            # `npm install --global` puts CML here, on the runner's PATH (cml_bake).
            npm_config_prefix=str(repository.work / "npm-global"),
            npm_config_audit="false",
            npm_config_fund="false",
            npm_config_update_notifier="false",
            # CML finds the repository from the checkout's remote (a folder here; on
            # GitHub, the server's URL) and lists the branch there over git's HTTP.
            CML_REPO=f"{github.url}/{github.repo}",
            GIT_SSL_CAINFO=str(cert),
        )
        yield github, npm


def test_a_cml_retrain_comments_on_its_alert_and_updates_its_pull_request(cml_bake, tls):
    """retrain.yml of a cml-poster bake on `schedule`, twice: drift, then a week later more
    drifted rows. The workflow installs CML with its own `npm install` (from the loopback
    registry) and `cml pr create` opens the pull request through the stub (git and the API
    over HTTPS); the second run comments on the open alert issue instead of opening
    another, and `mlops push-branch` brings the same pull request up to date."""
    repository, upstream = cml_bake
    upstream.land(*DRIFTED)
    schedule = {"schedule": "0 6 * * 1"}
    with with_cml(repository, tls) as (github, npm):
        first = repository.act("schedule", RETRAIN, schedule)
        assert first.returncode == 0, first.failed_because()
        assert first.jobs == dict.fromkeys(
            ["Drift and performance check", "Drift alert issue",
             "Retrain and open a pull request"], "success"
        ), first.failed_because()  # fmt: skip
        assert f"cml-{NAME_VERSION}.tgz" in " ".join(npm.requests)
        [issue] = alert_issues(github)
        [pull] = github.pulls
        assert pull["head"]["ref"] == "retrain/scheduled" and pull["base"]["ref"] == "main"
        assert pull["title"] == "Retrain on the latest data"
        body = pull["body"]
        assert "- Retrained in CI: these results are new" in body
        # CML listed the branch the run had pushed, over git's HTTP, then opened the request.
        assert ("GET", "/octo/model.git/info/refs?service=git-upload-pack") in github.requests
        head = repository.git("rev-parse", "retrain/scheduled", cwd=repository.origin)
        assert {"dvc.lock", "metrics.json"} <= branch_files(repository, "retrain/scheduled")

        upstream.land(*DRIFTED_AGAIN)
        second = repository.act("schedule", RETRAIN, schedule)
        assert second.returncode == 0, second.failed_because()
        assert second.jobs == first.jobs, second.failed_because()
        assert alert_issues(github) == [issue]
        [comment] = github.comments_on(issue["number"])
        assert "drift" in comment["body"].lower()
        assert github.pulls == [pull] and pull["state"] == "open"
        assert pull["body"] != body and "- Retrained in CI: these results are new" in pull["body"]
        assert repository.git("rev-parse", "retrain/scheduled", cwd=repository.origin) != head
    for each in (first, second):
        print(f"cml retrain run: {each.seconds:.0f} s")


def test_the_cml_report_workflow_comments_once_and_edits_its_comment(cml_bake, tls):
    """report.yml of a cml-poster bake (report-cml.yml) on a pull request with a harmless
    change, pushed twice: both jobs pass, one comment by the workflow's token says CI
    reproduced the committed results, and the second run edits it."""
    repository, _ = cml_bake
    repository.checkout("main")
    repository.checkout("harmless-cml", new=True)
    readme = repository.path / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8").replace("# ", "# Harmless: ", 1))
    repository.commit("A harmless change", push=True)
    jobs = dict.fromkeys(["Reproduce the branch", "Report and quality gate"], "success")
    try:
        with with_cml(repository, tls) as (github, _):
            first = repository.act(
                "pull_request", "report.yml", repository.pull_request_event(21, "harmless-cml")
            )
            assert first.returncode == 0, first.failed_because()
            assert first.jobs == jobs, first.failed_because()
            [comment] = [c for c in github.comments_on(21) if "<!-- mlops report" in c["body"]]
            assert comment["user"]["login"] == "github-actions[bot]"
            assert "Quality gate passed" in comment["body"]
            assert "Reproduced: `dvc repro`" in comment["body"]

            (repository.path / "NOTES.md").write_text("second push\n", encoding="utf-8")
            repository.commit("A second push", push=True)
            second = repository.act(
                "pull_request", "report.yml", repository.pull_request_event(21, "harmless-cml")
            )
            assert second.returncode == 0, second.failed_because()
            assert [c["id"] for c in github.comments_on(21)] == [comment["id"]]
    finally:
        repository.checkout("main")
    for each in (first, second):
        print(f"cml report run: {each.seconds:.0f} s")


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
