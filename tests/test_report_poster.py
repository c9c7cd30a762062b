"""Posting the pull-request report: the poster against a stub GitHub API, the workflows, and
(slow) the baked workflow's posting step with the real CML 0.20.6 against an HTTPS stub.

The poster needs only the standard library and PyYAML, so the fast tests run it straight
from a baked project's `src/` with this interpreter: no install, no slow mark.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
import threading
from pathlib import Path

import pytest
import yaml

from .conftest import bake, run
from .github_stub import StubGitHub, real_cml, self_signed, serving

MARKER_PREFIX = "<!-- mlops report"
MARKER_REST = ": updated in place by `mlops post-report` -->"  # the whole marker, for a spoof


@pytest.fixture
def github():
    with serving(StubGitHub()) as server:
        yield server


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return bake(tmp_path_factory.mktemp("post-report"), report_poster="builtin")


@pytest.fixture
def post(project, github, tmp_path):
    """Run `mlops post-report` from the baked sources as the workflow step would."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))

    def post_report(report: str):
        (project / "report.md").write_text(report, encoding="utf-8")
        env = {
            **os.environ,
            "PYTHONPATH": str(project / "src"),
            "GITHUB_TOKEN": "test-token",
            "GITHUB_API_URL": github.url,
            "GITHUB_REPOSITORY": "octo/model",
            "GITHUB_EVENT_PATH": str(event),
        }
        return run(
            [sys.executable, "-m", "my_ml_project", "post-report"],
            cwd=project,
            env=env,
            check=False,
        )

    return post_report


def marked(github: StubGitHub) -> list[dict]:
    return [c for c in github.comments if MARKER_PREFIX in c["body"]]


def test_first_run_creates_the_comment_and_the_next_updates_it(github, post):
    first = post("## ✅ Quality gate passed\n\nfirst push\n")
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout
    [comment] = github.comments
    first_id = comment["id"]
    assert comment["body"].startswith("## ✅ Quality gate passed")
    assert "first push" in comment["body"]

    second = post("## ❌ Quality gate failed: `f1` regressed\n\nsecond push\n")
    assert second.returncode == 0, second.stderr
    assert "updated" in second.stdout
    [comment] = github.comments
    assert comment["id"] == first_id
    assert comment["body"].startswith("## ❌ Quality gate failed")
    assert "first push" not in comment["body"]
    # Who the token is (GET /user, refused for an installation token), the comments, the write.
    assert [method for method, _ in github.requests] == [
        "GET",
        "GET",
        "POST",
        "GET",
        "GET",
        "PATCH",
    ]


def test_a_spoofed_marked_comment_is_left_alone(github, post):
    # Anyone who can comment can paste the marker; the next run must not adopt it.
    spoofed_body = f"## ✅ Quality gate passed (trust me)\n\n{MARKER_PREFIX}{MARKER_REST}\n"
    github.add(spoofed_body, login="mallory")
    first = post("## ❌ Quality gate failed: `f1` regressed\n")
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout
    second = post("## ❌ Quality gate failed: `recall` regressed\n")
    assert "updated" in second.stdout
    spoofed, report = github.comments
    assert spoofed["body"] == spoofed_body and spoofed["user"]["login"] == "mallory"
    assert report["user"]["login"] == "github-actions[bot]"
    assert report["body"].startswith("## ❌ Quality gate failed: `recall` regressed")


def test_the_marked_comment_is_found_on_a_later_page(github, post):
    for number in range(31):
        github.add(f"review comment {number}")
    post("## ✅ old report\n")  # the 32nd comment: page 2
    github.add("a reply after the report")
    assert len(github.comments) == 33 and github.comments.index(marked(github)[0]) == 31
    github.requests.clear()

    updated = post("## ✅ new report\n")
    assert updated.returncode == 0, updated.stderr
    assert len(github.comments) == 33
    assert marked(github)[0]["body"].startswith("## ✅ new report")
    pages = [path for method, path in github.requests if method == "GET" and path != "/user"]
    assert len(pages) == 2 and pages[1].endswith("page=2")


def test_a_read_only_token_fails_with_one_line_that_says_why(github, post):
    github.read_only = True
    result = post("## ✅ report from a fork\n")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: could not post the report on pull request #7")
    assert "HTTP 403 (POST: Resource not accessible by integration)" in line
    assert "pull request from a fork" in line and "pull-requests: write" in line
    assert "job summary" in line and "gate step still decides" in line
    assert github.comments == []


def test_other_api_errors_fail_with_the_status(github, post, project):
    github.comments.clear()
    github.repo = "octo/other"
    result = post("## report\n")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: could not post the report") and "HTTP 404" in line
    assert "not found" in line and "GITHUB_REPOSITORY" in line


@pytest.fixture(scope="module")
def workflows(tmp_path_factory) -> dict[str, Path]:
    found = {}
    for poster in ("cml", "builtin"):
        project = bake(tmp_path_factory.mktemp(poster), report_poster=poster)
        # One report workflow under one name, built from the chosen poster's source.
        folder = project / ".github" / "workflows"
        assert [path.name for path in folder.glob("report*.yml")] == ["report.yml"]
        found[poster] = folder / "report.yml"
    return found


@pytest.mark.parametrize("poster", ["cml", "builtin"])
def test_the_workflow_posts_before_the_gate_decides(workflows, poster):
    workflow = yaml.safe_load(workflows[poster].read_text())
    assert workflow["permissions"] == {}
    # YAML 1.1 reads `on` as True. GitHub's default types, and `labeled`: applying the
    # override label (report.override_label) runs the report and the gate again.
    types = ["opened", "synchronize", "reopened", "labeled"]
    assert workflow[True] == {"pull_request": {"types": types}}
    assert workflow["concurrency"]["cancel-in-progress"] is True
    build, job = workflow["jobs"]["build"], workflow["jobs"]["judge"]
    assert set(workflow["jobs"]) == {"build", "judge"} and job["needs"] == "build"
    # The branch's code runs in `build`, which can write nothing; the token that comments
    # is in `judge`, which runs main's code only. No id-token: a local-storage bake signs
    # in to no cloud (storage=s3 adds it).
    assert build["permissions"] == {"contents": "read"}
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert build["timeout-minutes"] <= 60 and job["timeout-minutes"] <= 60
    built = [step.get("run", step.get("uses", "")) for step in build["steps"]]
    assert built.index("uv run dvc repro") < built.index(
        "uv run dvc repro --force --single-item validate evaluate"
    )
    [upload] = [step for step in build["steps"] if "upload-artifact@" in step.get("uses", "")]
    assert build["steps"][-1] is upload and upload["with"]["path"] == "."
    commands = [step.get("run", step.get("uses", "")) for step in job["steps"]]
    position = {command: index for index, command in enumerate(commands)}
    post = position[f"uv run --locked mlops post-report --poster {poster}"]
    [download] = [i for i, c in enumerate(commands) if "download-artifact@" in c]
    assert job["steps"][download]["with"]["name"] == upload["with"]["name"]
    # main's code checked out and installed, the branch's results taken as files, then judged.
    take = position[
        'uv run --locked mlops take-results "$RUNNER_TEMP/branch-results" '
        '--workspace "$GITHUB_WORKSPACE"'
    ]
    report_run = 'uv run --locked mlops report --workspace "$GITHUB_WORKSPACE"'
    assert (
        position['git worktree add --detach "$RUNNER_TEMP/base" "$BASE_SHA"']
        < download
        < take
        < position[report_run]
        < post
    )
    gate = position['uv run --locked mlops gate --workspace "$GITHUB_WORKSPACE"']
    assert post < gate == len(commands) - 1
    # Every command of the judge but the worktree's creation runs in main's worktree.
    for step in job["steps"]:
        if "run" in step and not step["run"].startswith("git worktree add"):
            assert step["working-directory"] == "${{ runner.temp }}/base", step["run"]
    assert job["steps"][post]["if"] == (
        "github.event.pull_request.head.repo.full_name == github.repository"
    )
    # The gate decides whatever happened to posting, once the report was built.
    report = job["steps"][position[report_run]]
    assert job["steps"][gate]["if"] == (
        f"${{{{ !cancelled() && steps.{report['id']}.outcome == 'success' }}}}"
    )
    assert job["steps"][post]["env"]["GITHUB_TOKEN"] == "${{ github.token }}"
    for steps in (build["steps"], job["steps"]):
        checkout = steps[0]["with"]
        assert checkout["persist-credentials"] is False and checkout["fetch-depth"] == 0
    text = workflows[poster].read_text()
    assert ("npm install --global --ignore-scripts @dvcorg/cml@0.20.6" in text) == (poster == "cml")
    assert "github.event.pull_request.title" not in text and "head_ref" not in text


@pytest.mark.parametrize("poster", ["cml", "builtin"])
def test_the_workflow_passes_zizmor_and_the_schema(workflows, poster):
    """The report workflow, even under zizmor's pedantic persona (test_workflows.py runs
    the default persona over every workflow)."""
    bin_dir = Path(sys.executable).parent
    zizmor = shutil.which("zizmor", path=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    schema = shutil.which("check-jsonschema", path=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert zizmor and schema, "zizmor and check-jsonschema come with `make install`"
    folder = workflows[poster].parent
    audit = run(
        [zizmor, "--offline", "--persona=pedantic", workflows[poster]], cwd=folder, check=False
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    run(
        [schema, "--builtin-schema", "vendor.github-workflows", workflows[poster]],
        cwd=folder,
    )


METRICS = {"roc_auc": 0.999, "f1": 0.999, "accuracy": 0.999, "precision": 0.999, "recall": 0.999}
ALERT = "> [!WARNING]\n> a reviewer's alert must arrive as written\n"


def step_named(workflow: Path, command: str) -> dict:
    jobs = yaml.safe_load(workflow.read_text())["jobs"].values()
    [step] = [s for job in jobs for s in job["steps"] if s.get("run", "").startswith(command)]
    return step


@pytest.mark.slow
def test_the_workflow_posting_step_with_real_cml_and_images(
    installed_project, project_env, tmp_path
):
    """The baked cml workflow's posting step, run as the workflow runs it, on a pull request
    with 100 earlier comments, against GitHub and CML's image host stubbed over HTTPS on
    127.0.0.1. Twice -> one comment, edited, charts uploaded by CML, Markdown unchanged; the
    built-in poster edits the same comment; a 403 -> one line, and the gate still decides."""
    cml_bin = real_cml(tmp_path / "cml")
    tls, cert = self_signed(tmp_path)
    project = installed_project(report_poster="cml")
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("publish_images: false", "publish_images: true"))
    # A baseline on main and a branch whose f1 regressed, so the gate has a verdict to give.
    git_env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}  # fmt: skip
    if not (project / ".git").exists():
        project_env.run(["git", "init", "-q", "-b", "main"], cwd=project)
    # main's committed metrics are better than any model here; the branch runs the real
    # pipeline (the report judges only outputs that match dvc.lock), so f1 regressed.
    (project / "metrics.json").write_text(json.dumps(METRICS))
    project_env.run(["git", "add", "-A"], cwd=project)
    project_env.run(["git", "commit", "-qm", "baseline"], cwd=project, **git_env)
    project_env.run(["git", "checkout", "-qb", "feature"], cwd=project)
    project_env.run(["uv", "run", "dvc", "repro"], cwd=project)
    project_env.run(["git", "add", "-A"], cwd=project)
    project_env.run(["git", "commit", "-qm", "the branch's results"], cwd=project, **git_env)
    project_env.run(["uv", "run", "mlops", "report"], cwd=project)
    report_md = project / "report.md"
    report_md.write_text(report_md.read_text() + "\n" + ALERT)
    local_pngs = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", report_md.read_text())
    assert local_pngs, "publish_images: true makes report.md link the PNG charts"

    workflow = project / ".github" / "workflows" / "report.yml"
    posting = step_named(workflow, "uv run --locked mlops post-report")
    gate = step_named(workflow, "uv run --locked mlops gate")
    server = StubGitHub(tls)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for number in range(100):
            server.add(f"review comment {number}")
        event = tmp_path / "event.json"
        event.write_text(json.dumps({"pull_request": {"number": 7}}))
        home = tmp_path / "home"
        home.mkdir()
        step_env = {
            key: value.replace("${{ github.token }}", "test-token")
            for key, value in posting["env"].items()
        }
        on_loopback = {
            **step_env,
            "PATH": f"{cml_bin}{os.pathsep}{project_env.env['PATH']}",
            "HOME": str(home),
            "ITERATIVE_DO_NOT_TRACK": "1",
            "GITHUB_ACTIONS": "true",
            "CI": "true",
            "GITHUB_ACTOR": "octo-bot",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": "octo/model",
            "GITHUB_API_URL": server.url,
            "GITHUB_SERVER_URL": server.url,
            "CML_ASSET_URL": f"{server.url}/asset",  # CML's `--url` for `asset publish`
            "CML_REPO": f"{server.url}/octo/model",  # the checkout's origin, in the workflow
            "NODE_EXTRA_CA_CERTS": str(cert),
            "SSL_CERT_FILE": str(cert),
            "NO_PROXY": "127.0.0.1",
            "HTTPS_PROXY": "",
            "HTTP_PROXY": "",
        }

        def run_step(command: str, **extra: str):
            return project_env.run(
                shlex.split(command), cwd=project, check=False, **{**on_loopback, **extra}
            )

        def reports() -> list[dict]:
            return [c for c in server.comments if MARKER_PREFIX in c["body"]]

        for push in (1, 2):
            result = run_step(posting["run"])
            assert result.returncode == 0, result.stdout + result.stderr
            assert ("created" if push == 1 else "updated") in result.stdout
        [comment] = reports()
        assert len(server.comments) == 101 and comment is server.comments[100]
        assert [method for method, _ in server.requests].count("PATCH") == 1
        # CML uploaded every chart on each push; only the image links changed.
        assert len(server.assets) == 2 * len(local_pngs)
        assert all(asset.startswith(b"\x89PNG") for asset in server.assets)
        body = re.sub(
            r"\((https://127\.0\.0\.1:\d+/assets/\d+\.png)[^)]*\)", "(URL)", comment["body"]
        )
        expected = re.sub(r"\(([^)]+\.png)\)", "(URL)", report_md.read_text().rstrip("\n"))
        assert body.startswith(expected + "\n\n" + MARKER_PREFIX)
        assert ALERT in comment["body"] and "\\[!WARNING]" not in comment["body"]

        # Switching posters edits the same comment.
        switched = run_step("uv run mlops post-report --poster builtin")
        assert switched.returncode == 0 and "updated" in switched.stdout, switched.stderr
        assert reports() == [comment] and len(server.comments) == 101

        # A read-only token: one line, exit 2; the gate step's condition runs it anyway.
        server.read_only = True
        refused = run_step(posting["run"])
        assert refused.returncode == 2
        # One line from mlops (uv may add its own, such as "Bytecode compiled ..."), no dump.
        [line] = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
        assert len(refused.stderr) < len(line) + 200, refused.stderr
        assert "HTTP 403" in line and "fork" in line and "pull-requests: write" in line
        assert "!cancelled()" in gate["if"]
        # Here the checkout judges itself (no base worktree): the same command without
        # --workspace. In CI mode it fails: `f1` regressed, or metrics.json was not
        # recomputed in this run (this test writes it by hand).
        decided = run_step(gate["run"].replace(' --workspace "$GITHUB_WORKSPACE"', ""))
        assert decided.returncode == 1 and "Quality gate failed" in decided.stdout
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
