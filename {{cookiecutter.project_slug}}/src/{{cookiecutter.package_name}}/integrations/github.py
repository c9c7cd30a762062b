"""GitHub, from a workflow: the REST calls the report poster needs, the job summary, step
outputs and the run's address. GitHub Actions' environment variables are read here only.

Only the standard library is used, so the light commands that post and summarise stay light.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ProjectError

PER_PAGE = 100
TIMEOUT_SECONDS = 30
REPOSITORY_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
NEXT_LINK_RE = re.compile(r'<([^>]+)>\s*;\s*rel="next"')
# Who comments with the workflow's GITHUB_TOKEN. An app's installation token comments as
# "<app-slug>[bot]": name it in COMMENT_AUTHOR_ENV when the workflow posts with one.
ACTIONS_BOT = "github-actions[bot]"
COMMENT_AUTHOR_ENV = "MLOPS_COMMENT_AUTHOR"


class PostingFailed(ProjectError):
    """GitHub refused or could not be reached: one line with the status, its meaning, the fix."""


# What each refusal means for a workflow posting a comment, and what to do about it.
STATUS_MEANING = {
    401: "the token is missing, expired or wrong: pass the workflow's token as GITHUB_TOKEN",
    403: (
        "the token may read but not write: a pull request from a fork gets a read-only "
        "token, or the job lacks `permissions: pull-requests: write`"
    ),
    404: (
        "the repository or pull request was not found, or the token cannot see it: check "
        "GITHUB_REPOSITORY, GITHUB_API_URL and the event's pull request number"
    ),
}
UNREACHABLE = "GitHub could not be reached: check GITHUB_API_URL and the runner's network"
AFTERWORD = (
    "the report is still in the job summary and the artifact, and the gate step still decides"
)


@dataclass(frozen=True)
class PullRequest:
    api_url: str
    repository: str
    number: int
    token: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PullRequest:
        """The pull request of the running workflow, from the variables GitHub Actions sets.

        The token is GITHUB_TOKEN, or REPO_TOKEN (CML's name for it)."""
        token = env.get("GITHUB_TOKEN") or env.get("REPO_TOKEN") or ""
        if not token:
            raise ProjectError(
                "GITHUB_TOKEN is not set; pass the workflow's token to the step as GITHUB_TOKEN "
                "(the job needs `pull-requests: write`), or set it to a token that may comment"
            )
        api_url, repository = repository_of(env)
        return cls(api_url, repository, pull_request_number(env), token)

    @property
    def comments_url(self) -> str:
        return f"{self.api_url}/repos/{self.repository}/issues/{self.number}/comments"


def repository_of(env: Mapping[str, str]) -> tuple[str, str]:
    """GITHUB_API_URL (without its trailing slash) and GITHUB_REPOSITORY, checked."""
    repository = env.get("GITHUB_REPOSITORY", "")
    if not REPOSITORY_RE.match(repository):
        raise ProjectError(
            f"GITHUB_REPOSITORY is {repository!r}, not OWNER/NAME; run in GitHub Actions or set it"
        )
    api_url = env.get("GITHUB_API_URL") or "https://api.github.com"
    if not api_url.startswith(("https://", "http://")):
        raise ProjectError(f"GITHUB_API_URL {api_url!r} is not an http(s) URL; fix it")
    return api_url.rstrip("/"), repository


def merged_pull_request(env: Mapping[str, str]) -> tuple[PullRequest, tuple[str, ...]] | None:
    """The pull request whose merge made GITHUB_SHA, with its labels, for a workflow run on
    a push (the deploy on main); None on another event or when no pull request merged it."""
    sha = env.get("GITHUB_SHA", "")
    if env.get("GITHUB_EVENT_NAME") != "push" or not re.fullmatch(r"[0-9a-f]{40}", sha):
        return None
    token = env.get("GITHUB_TOKEN", "")
    if not token:
        raise ProjectError(
            "GITHUB_TOKEN is not set; pass the workflow's token to the step as GITHUB_TOKEN "
            "(the job needs `pull-requests: read`) to read the merged pull request's labels"
        )
    api_url, repository = repository_of(env)

    def failed(status: int | None, detail: str) -> ProjectError:
        answer = UNREACHABLE if status is None else f"GitHub answered HTTP {status}"
        return ProjectError(
            f"could not read the pull request that merged commit {sha[:12]}: {answer} ({detail})"
        )

    url = f"{api_url}/repos/{repository}/commits/{sha}/pulls?per_page={PER_PAGE}"
    pulls, _ = call_api(api_url, token, "GET", url, None, (), failed)
    for pull in pulls if isinstance(pulls, list) else []:
        if (
            isinstance(pull, dict)
            and pull.get("merged_at")
            and pull.get("merge_commit_sha") == sha
            and isinstance(pull.get("number"), int)
        ):
            labels = tuple(
                label["name"]
                for label in pull.get("labels") or []
                if isinstance(label, dict) and "name" in label
            )
            return PullRequest(api_url, repository, pull["number"], token), labels
    return None


def pull_request_number(env: Mapping[str, str]) -> int:
    event_path = env.get("GITHUB_EVENT_PATH", "")
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        raise ProjectError(
            f"GITHUB_EVENT_PATH {event_path!r} is not a readable event file; "
            "`mlops post-report` runs in a pull_request workflow"
        ) from None
    number = (event.get("pull_request") or {}).get("number") or event.get("number")
    if not isinstance(number, int):
        raise ProjectError(
            "the workflow event has no pull request number; run `mlops post-report` on "
            "`pull_request` events only"
        )
    return number


def next_page(link_header: str | None) -> str | None:
    """The rel="next" URL of a GitHub Link header, if any."""
    found = NEXT_LINK_RE.search(link_header or "")
    return found.group(1) if found else None


def refusal(pull_request: PullRequest, status: int | None, detail: str) -> PostingFailed:
    """One line for a failed posting: the HTTP status, what it means, what to do."""
    where = f"pull request #{pull_request.number} of {pull_request.repository}"
    if status is None:
        what = f"{UNREACHABLE} ({detail})"
    else:
        meaning = STATUS_MEANING.get(status, "see the message GitHub gave")
        what = f"GitHub answered HTTP {status} ({detail}): {meaning}"
    return PostingFailed(f"could not post the report on {where}: {what}; {AFTERWORD}")


def call_api(
    api_url: str,
    token: str,
    method: str,
    url: str,
    payload: dict | None,
    tolerate: tuple[int, ...],
    failed: Callable[[int | None, str], ProjectError],
) -> tuple[Any, str | None]:
    """One REST call: (the JSON answer, the Link header), or (None, None) for a tolerated
    status. The token goes only to `api_url`; `failed(status, detail)` makes the error
    (status None: GitHub was not reached)."""
    if not url.startswith(api_url + "/"):
        raise ProjectError(f"refusing to send the token to {url}: not under GITHUB_API_URL")
    request = urllib.request.Request(
        url,
        method=method,
        data=None if payload is None else json.dumps(payload).encode("utf-8"),
        headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "User-Agent": "mlops-report",
            "X-GitHub-Api-Version": "2022-11-28",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return json.loads(response.read() or b"null"), response.headers.get("Link")
    except urllib.error.HTTPError as error:
        if error.code in tolerate:
            return None, None
        raise failed(error.code, f"{method}: {_error_message(error)}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise failed(None, f"{method} {url}: {reason}") from None


class GitHub:
    """The three REST calls the poster needs, with the token sent only to the API host."""

    def __init__(self, pull_request: PullRequest):
        self.pr = pull_request

    def _request(
        self, method: str, url: str, payload: dict | None = None, tolerate: tuple[int, ...] = ()
    ):
        def failed(status: int | None, detail: str) -> PostingFailed:
            return refusal(self.pr, status, detail)

        return call_api(self.pr.api_url, self.pr.token, method, url, payload, tolerate, failed)

    def identity(self, env: Mapping[str, str]) -> str:
        """The login this token comments as.

        COMMENT_AUTHOR_ENV when set; else a user's token answers GET /user with its login;
        an installation token (the workflow's GITHUB_TOKEN) is refused there (403) and
        comments as github-actions[bot]."""
        named = env.get(COMMENT_AUTHOR_ENV, "").strip()
        if named:
            return named
        user, _ = self._request("GET", f"{self.pr.api_url}/user", tolerate=(403, 404))
        login = user.get("login") if isinstance(user, dict) else None
        return login if isinstance(login, str) and login else ACTIONS_BOT

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
        return str(json.loads(error.read()).get("message", error.reason))
    except (ValueError, AttributeError, OSError):
        return str(error.reason)


def append_step_summary(markdown: str) -> bool:
    """Add Markdown to the job's summary page under GitHub Actions; False elsewhere."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary:
        return False
    with open(summary, "a", encoding="utf-8") as handle:
        handle.write(markdown + "\n")
    return True


def write_outputs(values: Mapping[str, str]) -> bool:
    """Expose values as the step's outputs under GitHub Actions; False elsewhere."""
    target = os.environ.get("GITHUB_OUTPUT")
    if not target:
        return False
    with open(target, "a", encoding="utf-8") as handle:
        for key, value in values.items():
            handle.write(f"{key}={value}\n")
    return True


def ci_run_url() -> str | None:
    """The address of the running workflow run, under GitHub Actions."""
    parts = [os.environ.get(key) for key in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY")]
    run_id = os.environ.get("GITHUB_RUN_ID")
    if all(parts) and run_id:
        return f"{parts[0]}/{parts[1]}/actions/runs/{run_id}"
    return None


def in_actions(env: Mapping[str, str] | None = None) -> bool:
    """True inside a GitHub Actions job."""
    return (os.environ if env is None else env).get("GITHUB_ACTIONS") == "true"


def pull_request_head(env: Mapping[str, str] | None = None) -> str | None:
    """The commit at the tip of the pull request's branch (`pull_request.head.sha`), not the
    merge commit GitHub checks out; None outside a pull_request event."""
    env = os.environ if env is None else env
    event_path = env.get("GITHUB_EVENT_PATH", "")
    if not event_path:
        return None
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    head = ((event.get("pull_request") or {}).get("head") or {}).get("sha")
    return head if isinstance(head, str) and re.fullmatch(r"[0-9a-f]{40}", head) else None


def event_labels(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The names of the labels on the pull request of the running workflow's event."""
    env = os.environ if env is None else env
    event_path = env.get("GITHUB_EVENT_PATH", "")
    if not event_path:
        return ()
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return ()
    labels = (event.get("pull_request") or {}).get("labels") or []
    return tuple(label["name"] for label in labels if isinstance(label, dict) and "name" in label)


def who_labeled(pull_request: PullRequest, label: str) -> str | None:
    """The login that last applied `label` to the pull request, from its issue events."""
    api_url = pull_request.api_url

    def failed(status: int | None, detail: str) -> ProjectError:
        answer = UNREACHABLE if status is None else f"GitHub answered HTTP {status}"
        return ProjectError(
            f"could not read who labeled pull request #{pull_request.number}: {answer} ({detail})"
        )

    url: str | None = (
        f"{api_url}/repos/{pull_request.repository}/issues/"
        f"{pull_request.number}/events?per_page={PER_PAGE}"
    )
    who = None
    while url:
        page, link = call_api(api_url, pull_request.token, "GET", url, None, (), failed)
        for event in page or []:
            named = (event.get("label") or {}).get("name") if isinstance(event, dict) else None
            if event.get("event") == "labeled" and named == label:
                who = (event.get("actor") or {}).get("login") or who
        url = next_page(link)
    return who
