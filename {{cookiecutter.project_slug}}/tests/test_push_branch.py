"""`mlops push-branch`: each run's results replace the branch, and the pull request open
from it takes the new report (what `cml pr create` alone does not do on a second run)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.cli import main

BRANCH = "retrain/scheduled"


class PullsAPI(ThreadingHTTPServer):
    """GitHub's pulls endpoints for one repository, in memory, on 127.0.0.1."""

    def __init__(self, pulls: list[dict]):
        super().__init__(("127.0.0.1", 0), PullsHandler)
        self.pulls = pulls
        self.calls: list[tuple[str, str, dict | None]] = []


class PullsHandler(BaseHTTPRequestHandler):
    server: PullsAPI

    def log_message(self, *args):
        pass

    def answer(self, status: int, payload) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.server.calls.append(("GET", self.path, None))
        if self.headers["Authorization"] != "Bearer test-token":
            return self.answer(401, {"message": "Bad credentials"})
        wanted = f"/repos/octo/model/pulls?state=open&head=octo:{BRANCH}"
        return self.answer(200, self.server.pulls if self.path == wanted else [])

    def do_PATCH(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.calls.append(("PATCH", self.path, body))
        for pull in self.server.pulls:
            if self.path == f"/repos/octo/model/pulls/{pull['number']}":
                pull.update(body)
                return self.answer(200, pull)
        return self.answer(404, {"message": "Not Found"})


@pytest.fixture
def api() -> Iterator[PullsAPI]:
    server = PullsAPI([{"number": 12, "body": "the first run's report", "head": {"ref": BRANCH}}])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def git(cwd: Path, *args: str) -> str:
    identity = ["-c", "user.name=Runner", "-c", "user.email=runner@example.com"]
    done = subprocess.run(
        ["git", *identity, *args], cwd=cwd, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def checkout(tmp_path, write_params, monkeypatch, api) -> tuple[Path, Path]:
    """A runner's checkout of main (with an origin) and the run's params: (params, origin)."""
    params = write_params()
    (tmp_path / ".gitignore").write_text("mlflow.db\nreport.md\n")
    (tmp_path / "metrics.json").write_text('{"f1": 0.9}\n')
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "--all")
    git(tmp_path, "commit", "-qm", "main")
    origin = tmp_path.parent / f"{tmp_path.name}-origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(tmp_path, "remote", "add", "origin", str(origin))
    git(tmp_path, "push", "-q", "origin", "main")
    for name, value in {"GITHUB_TOKEN": "test-token", "GITHUB_REPOSITORY": "octo/model",
                        "GITHUB_API_URL": f"http://127.0.0.1:{api.server_address[1]}",
                        "GIT_AUTHOR_NAME": "Runner", "GIT_AUTHOR_EMAIL": "r@example.com",
                        "GIT_COMMITTER_NAME": "Runner",
                        "GIT_COMMITTER_EMAIL": "r@example.com"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    return params, origin


def push_branch(params: Path) -> int:
    report = params.parent / "report.md"
    return main(["--params", str(params), "push-branch", "--branch", BRANCH,
                 "--message", "Retrain", "--body-file", str(report)])  # fmt: skip


def outputs() -> dict[str, str]:
    """The step outputs written so far (conftest.py points GITHUB_OUTPUT at a scratch file)."""
    written = Path(os.environ["GITHUB_OUTPUT"]).read_text(encoding="utf-8")
    return dict(line.split("=", 1) for line in written.splitlines())


def test_a_second_run_replaces_the_branch_and_updates_the_pull_request_the_first_opened(
    checkout, api, capsys
):
    """The scheduled retrain twice, as the cml poster runs it: the first run finds no pull
    request, so `cml pr create` opens one with that run's report; the second run's
    results replace the branch and its report replaces that pull request's body."""
    params, origin = checkout
    root = params.parent
    api.pulls.clear()
    tips = []
    for run, f1 in enumerate((0.91, 0.92), start=1):
        git(root, "checkout", "-q", "main")  # each run starts from a fresh checkout of main
        (root / "metrics.json").write_text(json.dumps({"f1": f1}) + "\n")
        (root / "report.md").write_text(f"report of run {run}\n")
        assert push_branch(params) == 0
        said = capsys.readouterr().out
        tips.append(git(origin, "rev-parse", BRANCH))
        assert json.loads(git(origin, "show", f"{BRANCH}:metrics.json")) == {"f1": f1}
        # One commit on top of main, not a growing history: the branch is replaced.
        assert git(origin, "rev-parse", f"{BRANCH}~1") == git(origin, "rev-parse", "main")
        if run == 1:
            assert "no pull request is open from it" in said
            assert outputs() == {"pushed": "true", "pull-request": ""}
            assert not any(method == "PATCH" for method, *_ in api.calls)
            # What `cml pr create` does next in the workflow: open it with this report.
            api.pulls.append({"number": 12, "body": "report of run 1\n", "head": {"ref": BRANCH}})
    assert "updated pull request #12" in said
    assert outputs()["pull-request"] == "12"
    patch = ("PATCH", "/repos/octo/model/pulls/12", {"body": "report of run 2\n"})
    assert [call for call in api.calls if call[0] == "PATCH"] == [patch]
    assert api.pulls[0]["body"] == "report of run 2\n"
    assert tips[0] != tips[1]
    # report.md is ignored: never committed.
    assert "report.md" not in git(origin, "ls-tree", "--name-only", BRANCH)


def test_a_run_that_changed_nothing_pushes_nothing(checkout, api, capsys):
    params, origin = checkout
    (params.parent / "report.md").write_text("report\n")
    assert push_branch(params) == 0
    assert "changed nothing" in capsys.readouterr().out
    assert git(origin, "branch", "--list", BRANCH) == "" and api.calls == []


def test_without_an_open_pull_request_it_pushes_and_says_so(checkout, api, capsys):
    params, origin = checkout
    api.pulls.clear()
    (params.parent / "metrics.json").write_text('{"f1": 0.95}\n')
    (params.parent / "report.md").write_text("report\n")
    assert push_branch(params) == 0
    assert "no pull request is open from it" in capsys.readouterr().out
    assert git(origin, "rev-parse", BRANCH) and not any(m == "PATCH" for m, *_ in api.calls)


def test_no_token_is_a_one_line_error(checkout, monkeypatch, capsys):
    params, _ = checkout
    monkeypatch.delenv("GITHUB_TOKEN")
    assert push_branch(params) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: GITHUB_TOKEN is not set") and err.count("\n") == 1
