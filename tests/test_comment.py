"""Posting the pull-request report: the built-in poster against a stub GitHub API, the workflows.

The poster needs only the standard library and PyYAML, so it runs straight from
a baked project's `src/` with this interpreter: no install, no slow mark.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from .conftest import bake, run

MARKER_PREFIX = "<!-- mlops report"
PAGE_SIZE = 30  # GitHub's default page size; the stub ignores per_page to force paging


class StubGitHub(ThreadingHTTPServer):
    """Issue comments of one pull request, held in memory."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), StubHandler)
        self.comments: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.read_only = False
        self.next_id = 1000

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def add(self, body: str) -> dict:
        self.next_id += 1
        comment = {"id": self.next_id, "body": body, "html_url": f"{self.url}/c/{self.next_id}"}
        self.comments.append(comment)
        return comment


class StubHandler(BaseHTTPRequestHandler):
    server: StubGitHub
    list_path = "/repos/octo/model/issues/7/comments"

    def log_message(self, *args):
        pass

    def reply(self, status: int, payload, headers: dict | None = None):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def authorised(self) -> bool:
        self.server.requests.append((self.command, self.path))
        if self.headers.get("Authorization") != "Bearer test-token":
            self.reply(401, {"message": "Bad credentials"})
            return False
        return True

    def body(self) -> str:
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))["body"]

    def do_GET(self):
        if not self.authorised():
            return
        url = urlsplit(self.path)
        if url.path != self.list_path:
            return self.reply(404, {"message": "Not Found"})
        page = int(parse_qs(url.query).get("page", ["1"])[0])
        start = (page - 1) * PAGE_SIZE
        headers = {}
        if start + PAGE_SIZE < len(self.server.comments):
            headers["Link"] = f'<{self.server.url}{url.path}?page={page + 1}>; rel="next"'
        self.reply(200, self.server.comments[start : start + PAGE_SIZE], headers)

    def do_POST(self):
        if not self.authorised():
            return
        if self.server.read_only:
            return self.reply(403, {"message": "Resource not accessible by integration"})
        if self.path != self.list_path:
            return self.reply(404, {"message": "Not Found"})
        self.reply(201, self.server.add(self.body()))

    def do_PATCH(self):
        if not self.authorised():
            return
        if self.server.read_only:
            return self.reply(403, {"message": "Resource not accessible by integration"})
        comment_id = int(self.path.rsplit("/", 1)[1])
        for comment in self.server.comments:
            if comment["id"] == comment_id:
                comment["body"] = self.body()
                return self.reply(200, comment)
        self.reply(404, {"message": "Not Found"})


@pytest.fixture
def github():
    server = StubGitHub()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return bake(tmp_path_factory.mktemp("comment"), pr_reporter="builtin")


@pytest.fixture
def post(project, github, tmp_path):
    """Run `mlops comment` from the baked sources as the workflow step would."""
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
            [sys.executable, "-m", "my_ml_project", "comment"], cwd=project, env=env, check=False
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
    assert [method for method, _ in github.requests] == ["GET", "POST", "GET", "PATCH"]


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
    pages = [path for method, path in github.requests if method == "GET"]
    assert len(pages) == 2 and pages[1].endswith("page=2")


def test_a_read_only_token_explains_itself_and_does_not_fail(github, post):
    github.read_only = True
    result = post("## ✅ report from a fork\n")
    assert result.returncode == 0
    assert "HTTP 403: Resource not accessible by integration" in result.stderr
    assert "pull request from a fork" in result.stderr and "job summary" in result.stderr
    assert github.comments == []


def test_other_api_errors_fail_with_the_status(github, post, project):
    github.comments.clear()
    StubHandler.list_path = "/repos/octo/other/issues/7/comments"
    try:
        result = post("## report\n")
    finally:
        StubHandler.list_path = "/repos/octo/model/issues/7/comments"
    assert result.returncode == 2
    assert result.stderr.startswith("error: GitHub answered GET") and "HTTP 404" in result.stderr


@pytest.fixture(scope="module")
def workflows(tmp_path_factory) -> dict[str, Path]:
    found = {}
    for poster in ("cml", "builtin"):
        project = bake(tmp_path_factory.mktemp(poster), pr_reporter=poster)
        [workflow] = (project / ".github" / "workflows").glob("pr-report-*.yml")
        assert workflow.name == f"pr-report-{poster}.yml"
        found[poster] = workflow
    return found


@pytest.mark.parametrize("poster", ["cml", "builtin"])
def test_the_workflow_posts_before_the_gate_decides(workflows, poster):
    workflow = yaml.safe_load(workflows[poster].read_text())
    assert workflow["permissions"] == {}
    assert workflow[True] == {"pull_request": None}  # YAML 1.1 reads `on` as True
    assert workflow["concurrency"]["cancel-in-progress"] is True
    [job] = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert job["timeout-minutes"] <= 60
    commands = [step.get("run", step.get("uses", "")) for step in job["steps"]]
    position = {command: index for index, command in enumerate(commands)}
    post = position[f"uv run mlops comment --poster {poster}"]
    assert position["uv run dvc repro"] < position["uv run mlops report"] < post
    assert post < position["uv run mlops gate"] == len(commands) - 1
    assert job["steps"][post]["if"] == (
        "github.event.pull_request.head.repo.full_name == github.repository"
    )
    checkout = job["steps"][0]["with"]
    assert checkout["persist-credentials"] is False and checkout["fetch-depth"] == 0
    text = workflows[poster].read_text()
    assert ("npm install --global @dvcorg/cml@0.20.6" in text) == (poster == "cml")
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
