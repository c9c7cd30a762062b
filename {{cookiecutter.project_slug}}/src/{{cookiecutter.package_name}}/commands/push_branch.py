"""push-branch: commit every change this run made to a branch, force-push it, and bring the
pull request open from that branch up to date.

The retrain workflow of a project with the CML poster runs it before `cml pr create`:
CML opens a pull request from a branch once, but on a later run it finds the branch,
warns and stops, so the pull request would keep the first run's commit and report. Here
each run's results replace the branch's (a force-push of one commit on top of the
checkout), and the open pull request's body becomes the new report; `cml pr create`
then opens the pull request only when none is open. A run that changed nothing pushes
nothing. `.gitignore` decides what "every change" is, as for `git add --all`.

Needs the workflow's token (GITHUB_TOKEN, or REPO_TOKEN as CML calls it) with
`contents: write` and `pull-requests: write`.
"""

from __future__ import annotations

import argparse
import base64
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ProjectError
from ..integrations.git import git
from ..integrations.github import REPOSITORY_RE, call_api, write_outputs
from ..params import Params

# Who commits when the runner has no git identity: the account GITHUB_TOKEN acts as.
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--branch", required=True, help="the branch to push, e.g. retrain/scheduled"
    )
    parser.add_argument("--message", required=True, help="the commit message")
    parser.add_argument(
        "--body-file", type=Path, help="Markdown for the open pull request's body (e.g. report.md)"
    )


@dataclass(frozen=True)
class Options:
    branch: str
    message: str
    body_file: Path | None = None


def settings(env: dict[str, str]) -> tuple[str, str, str, str]:
    """(token, OWNER/NAME, API URL, server URL) from the variables GitHub Actions sets."""
    token = env.get("GITHUB_TOKEN") or env.get("REPO_TOKEN") or ""
    if not token:
        raise ProjectError(
            "GITHUB_TOKEN is not set; pass the workflow's token to the step as GITHUB_TOKEN "
            "(the job needs `contents: write` and `pull-requests: write`)"
        )
    repository = env.get("GITHUB_REPOSITORY", "")
    if not REPOSITORY_RE.match(repository):
        raise ProjectError(f"GITHUB_REPOSITORY is {repository!r}, not OWNER/NAME; run in Actions")
    api_url = (env.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/")
    server_url = (env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
    return token, repository, api_url, server_url


def checked(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = git(root, *args, env=env)
    if done.returncode != 0:
        first = next((line for line in done.stderr.splitlines() if line.strip()), "")
        raise ProjectError(f"git {args[0]} failed: {first.strip() or done.returncode}")
    return done.stdout.strip()


def commit(root: Path, branch: str, message: str) -> str | None:
    """Commit every change on `branch` (made from the checkout); None when nothing changed."""
    checked(root, "add", "--all")
    if git(root, "diff", "--cached", "--quiet").returncode == 0:
        return None
    checked(root, "checkout", "-q", "-B", branch)
    identity = []
    if not git(root, "config", "user.email").stdout.strip():
        identity = ["-c", f"user.name={BOT_NAME}", "-c", f"user.email={BOT_EMAIL}"]
    checked(root, *identity, "commit", "-q", "-m", message)
    return checked(root, "rev-parse", "HEAD")


def push(root: Path, branch: str, token: str, server_url: str) -> None:
    """Force-push HEAD to `branch` of origin, the token sent as actions/checkout sends it
    (an HTTP header for the server only, passed in the environment, never in .git/config)."""
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    header = {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{server_url}/.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
    }
    done = git(root, "push", "-q", "--force", "origin", f"HEAD:refs/heads/{branch}", env=header)
    if done.returncode != 0:
        first = next((line for line in done.stderr.splitlines() if line.strip()), "")
        raise ProjectError(
            f"could not push {branch}: {first.strip()}; the job needs `contents: write`, "
            "and a protected branch name refuses force-pushes"
        )


def refused(branch: str) -> Callable[[int | None, str], ProjectError]:
    def failed(status: int | None, detail: str) -> ProjectError:
        what = "GitHub could not be reached" if status is None else f"GitHub answered {status}"
        return ProjectError(
            f"could not read or update the pull request from {branch}: {what} ({detail}); "
            "the job needs `pull-requests: write`"
        )

    return failed


def open_pull_request(
    api_url: str, token: str, repository: str, branch: str
) -> dict[str, Any] | None:
    """The pull request open from `branch` of this repository, if any."""
    owner = repository.split("/")[0]
    url = f"{api_url}/repos/{repository}/pulls?state=open&head={owner}:{branch}"
    found, _ = call_api(api_url, token, "GET", url, None, (), refused(branch))
    return found[0] if found else None


def read_body(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise ProjectError(f"--body-file {path}: {error.strerror}") from None


def run(params: Params, options: Options) -> int:
    token, repository, api_url, server_url = settings(dict(os.environ))
    branch = options.branch
    body = read_body(options.body_file)
    sha = commit(params.root, branch, options.message)
    if sha is None:
        print(f"push-branch: this run changed nothing, so nothing was pushed to {branch}")
        write_outputs({"pushed": "false", "pull-request": ""})
        return 0
    push(params.root, branch, token, server_url)
    pull = open_pull_request(api_url, token, repository, branch)
    if pull is None:
        print(f"push-branch: pushed {sha[:12]} to {branch}; no pull request is open from it")
        write_outputs({"pushed": "true", "pull-request": ""})
        return 0
    if body is not None:
        url = f"{api_url}/repos/{repository}/pulls/{pull['number']}"
        call_api(api_url, token, "PATCH", url, {"body": body}, (), refused(branch))
    print(f"push-branch: pushed {sha[:12]} to {branch}; updated pull request #{pull['number']}")
    write_outputs({"pushed": "true", "pull-request": str(pull["number"])})
    return 0
