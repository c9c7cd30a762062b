"""comment: post report.md on the pull request as one comment, updated in place on every push.

Two posters, chosen by `report.poster` in params.yaml:

- `cml` runs `cml comment update --watermark-title=...`, which edits the newest
  comment carrying that title (CML itself is installed by the workflow);
- `builtin` talks to the GitHub REST API with the standard library: it pages
  through the pull request's comments, finds the one with a hidden marker, and
  edits it, or creates it on the first run.

A token that may not write (a pull request from a fork) is not an error: the
report is still in the job summary and the artifact, so the command says so
and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ProjectError
from .params import POSTERS, Params

TITLE = "mlops report"
MARKER = "<!-- mlops report: updated in place by `mlops comment` -->"
# GitHub rejects comment bodies over 65536 characters.
MAX_BODY = 65_000
PER_PAGE = 100
TIMEOUT_SECONDS = 30
REPOSITORY_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
NEXT_LINK_RE = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class ReadOnlyToken(Exception):
    """GitHub answered 403: this token may read the pull request but not comment on it."""


@dataclass(frozen=True)
class PullRequest:
    api_url: str
    repository: str
    number: int
    token: str

    @classmethod
    def from_env(cls, env: dict[str, str]) -> PullRequest:
        """The pull request of the running workflow, from the variables GitHub Actions sets."""
        token = env.get("GITHUB_TOKEN", "")
        if not token:
            raise ProjectError(
                "GITHUB_TOKEN is not set; pass the workflow's token to the step as GITHUB_TOKEN "
                "(the job needs `pull-requests: write`), or set it to a token that may comment"
            )
        repository = env.get("GITHUB_REPOSITORY", "")
        if not REPOSITORY_RE.match(repository):
            raise ProjectError(
                f"GITHUB_REPOSITORY is {repository!r}, not OWNER/NAME; run in GitHub Actions "
                "or set it"
            )
        api_url = env.get("GITHUB_API_URL") or "https://api.github.com"
        if not api_url.startswith(("https://", "http://")):
            raise ProjectError(f"GITHUB_API_URL {api_url!r} is not an http(s) URL; fix it")
        return cls(api_url.rstrip("/"), repository, pull_request_number(env), token)

    @property
    def comments_url(self) -> str:
        return f"{self.api_url}/repos/{self.repository}/issues/{self.number}/comments"


def pull_request_number(env: dict[str, str]) -> int:
    event_path = env.get("GITHUB_EVENT_PATH", "")
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        raise ProjectError(
            f"GITHUB_EVENT_PATH {event_path!r} is not a readable event file; "
            "`mlops comment` runs in a pull_request workflow"
        ) from None
    number = (event.get("pull_request") or {}).get("number") or event.get("number")
    if not isinstance(number, int):
        raise ProjectError(
            "the workflow event has no pull request number; run `mlops comment` on "
            "`pull_request` events only"
        )
    return number


def next_page(link_header: str | None) -> str | None:
    """The rel="next" URL of a GitHub Link header, if any."""
    found = NEXT_LINK_RE.search(link_header or "")
    return found.group(1) if found else None


def comment_body(report: str) -> str:
    """The report with the marker at the end, so the first line stays the verdict."""
    suffix = f"\n\n{MARKER}\n"
    if len(report) + len(suffix) > MAX_BODY:
        note = "\n\n… (truncated: the whole report is in the job summary and the artifact)"
        report = report[: MAX_BODY - len(suffix) - len(note)] + note
    return report.rstrip("\n") + suffix


def find_marked(comments: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest comment carrying the marker."""
    marked = [c for c in comments if MARKER in (c.get("body") or "")]
    return marked[-1] if marked else None


class GitHub:
    """The three REST calls the poster needs, with the token sent only to the API host."""

    def __init__(self, pull_request: PullRequest):
        self.pr = pull_request

    def _request(self, method: str, url: str, payload: dict | None = None):
        if not url.startswith(self.pr.api_url + "/"):
            raise ProjectError(f"refusing to send the token to {url}: not under GITHUB_API_URL")
        request = urllib.request.Request(
            url,
            method=method,
            data=None if payload is None else json.dumps(payload).encode("utf-8"),
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {self.pr.token}",
                "Content-Type": "application/json",
                "User-Agent": "mlops-report",
                "X-GitHub-Api-Version": "2022-11-28",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                return json.loads(response.read() or b"null"), response.headers.get("Link")
        except urllib.error.HTTPError as error:
            detail = _error_message(error)
            if error.code == 403:
                raise ReadOnlyToken(detail) from None
            raise ProjectError(
                f"GitHub answered {method} {url} with HTTP {error.code} ({detail}); check "
                "GITHUB_TOKEN, GITHUB_REPOSITORY and the job's `pull-requests: write`"
            ) from None
        except (urllib.error.URLError, TimeoutError) as error:
            raise ProjectError(
                f"could not reach GitHub at {self.pr.api_url} ({error}); check GITHUB_API_URL"
            ) from None

    def comments(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        url: str | None = f"{self.pr.comments_url}?per_page={PER_PAGE}"
        while url:
            page, link = self._request("GET", url)
            found.extend(page or [])
            url = next_page(link)
        return found

    def create(self, body: str) -> dict[str, Any]:
        return self._request("POST", self.pr.comments_url, {"body": body})[0]

    def update(self, comment_id: int, body: str) -> dict[str, Any]:
        url = f"{self.pr.api_url}/repos/{self.pr.repository}/issues/comments/{comment_id}"
        return self._request("PATCH", url, {"body": body})[0]


def _error_message(error: urllib.error.HTTPError) -> str:
    try:
        return json.loads(error.read()).get("message", error.reason)
    except (ValueError, AttributeError):
        return str(error.reason)


def upsert(github: GitHub, report: str) -> tuple[str, dict[str, Any]]:
    """Edit the marked comment, or create it; returns ("updated" | "created", comment)."""
    body = comment_body(report)
    existing = find_marked(github.comments())
    if existing is not None:
        return "updated", github.update(existing["id"], body)
    return "created", github.create(body)


def post_builtin(report: str, env: dict[str, str]) -> int:
    pull_request = PullRequest.from_env(env)
    try:
        action, comment = upsert(GitHub(pull_request), report)
    except ReadOnlyToken as refused:
        print(
            f"comment: GitHub refused to write the comment on pull request #{pull_request.number} "
            f"(HTTP 403: {refused}). The token is read-only, as it is for a pull request from "
            "a fork; the report is still in the job summary and the workflow artifact.",
            file=sys.stderr,
        )
        return 0
    print(f"comment: {action} {comment.get('html_url') or comment.get('id')}")
    return 0


def cml_command(report: Path, publish_images: bool) -> list[str]:
    return [
        "cml",
        "comment",
        "update",
        f"--watermark-title={TITLE}",
        f"--publish={'true' if publish_images else 'false'}",
        str(report),
    ]


def post_cml(report: Path, publish_images: bool, env: dict[str, str]) -> int:
    if shutil.which("cml", path=env.get("PATH")) is None:
        raise ProjectError(
            "cml is not on PATH; install it (`npm install --global @dvcorg/cml@0.20.6`) "
            "or set report.poster: builtin in params.yaml"
        )
    child_env = {**env, "ITERATIVE_DO_NOT_TRACK": "1"}
    return subprocess.run(
        cml_command(report, publish_images), env=child_env, check=False
    ).returncode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--poster", choices=POSTERS, help="override report.poster from params.yaml")
    parser.add_argument("--report", type=Path, help="markdown to post (default: paths.report)")


def run(params: Params, args: argparse.Namespace) -> int:
    report = getattr(args, "report", None) or params.paths.report
    if not Path(report).is_file():
        raise ProjectError(f"{report} is missing; run `mlops report` first")
    poster = getattr(args, "poster", None) or params.report.poster
    env = dict(os.environ)
    if poster == "cml":
        return post_cml(Path(report), params.report.publish_images, env)
    return post_builtin(Path(report).read_text(encoding="utf-8"), env)
