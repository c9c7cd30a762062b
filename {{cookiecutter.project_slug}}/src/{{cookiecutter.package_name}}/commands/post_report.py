"""comment: post report.md on the pull request as one comment, updated in place on every push.

Both posters (`report.poster` in params.yaml) find and write the comment the same way:
`mlops post-report` pages through every comment of the pull request with GitHub's REST
API (standard library only), edits the one carrying MARKER that the token's own
identity wrote (`GitHub.identity`; a marked comment by anyone else is left alone), or
creates it. So a busy pull request still gets one report (CML's own `comment update`
reads only the first 30 comments and cannot be pointed at a comment), and switching
posters edits the same comment (a report an older CML poster wrote, with CML's
watermark, is found too).

What `cml` adds is CML's image host: with `report.publish_images: true` each chart the
report links is uploaded with `cml asset publish` and only that link changes; the rest
of the Markdown arrives as written (CML's `comment` re-serialises the whole body, which
turns `> [!WARNING]` into `> \\[!WARNING]`). The MIME type is passed to CML, which keeps
it off its WebAssembly file-type probe, the one that fails on Node 20 and 24 (exit 7).

Any failure to post, for either poster, is one `error:` line (the HTTP status, what it
means, what to do) and exit 2: a read-only token (a pull request from a fork, or no
`pull-requests: write`), a bad token, a repository or pull request not found, no network,
an upload CML could not make. The report is still in the job summary and the artifact,
and the workflow's gate step runs anyway and decides the check.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ProjectError
from ..integrations.github import AFTERWORD, COMMENT_AUTHOR_ENV, GitHub, PullRequest
from ..params import POSTERS, Params

MARKER = "<!-- mlops report: updated in place by `mlops post-report` -->"
# The watermark title an earlier CML poster (`cml comment update --watermark-title=...`) left.
CML_WATERMARK = '"CML watermark mlops report")'
# GitHub rejects comment bodies over 65536 characters.
MAX_BODY = 65_000
CML_TIMEOUT_SECONDS = 300
# ![alt](target) or ![alt](target "title"): the links `cml` uploads when they name a local file.
IMAGE_RE = re.compile(r"(!\[[^\]]*\]\()([^)\s]+)((?:\s+\"[^\"]*\")?\))")


def comment_body(report: str) -> str:
    """The report with the marker at the end, so the first line stays the verdict."""
    suffix = f"\n\n{MARKER}\n"
    if len(report) + len(suffix) > MAX_BODY:
        note = "\n\n… (truncated: the whole report is in the job summary and the artifact)"
        report = report[: MAX_BODY - len(suffix) - len(note)] + note
    return report.rstrip("\n") + suffix


def author_of(comment: dict[str, Any]) -> str | None:
    user = comment.get("user")
    login = user.get("login") if isinstance(user, dict) else None
    return login if isinstance(login, str) else None


def find_marked(comments: list[dict[str, Any]], author: str) -> dict[str, Any] | None:
    """The newest report comment, by either poster, that `author` (the token's own
    identity) wrote: anyone can paste the marker into a comment of their own, and that
    one is never edited."""
    marked = [
        c
        for c in comments
        if author_of(c) == author
        and (MARKER in (body := c.get("body") or "") or CML_WATERMARK in body)
    ]
    return marked[-1] if marked else None


def upsert(
    github: GitHub, report: str, env: Mapping[str, str] | None = None
) -> tuple[str, dict[str, Any]]:
    """Edit the marked comment, or create it; returns ("updated" | "created", comment)."""
    body = comment_body(report)
    author = github.identity(env or {})
    existing = find_marked(github.comments(), author)
    if existing is not None:
        return "updated", github.update(existing["id"], body)
    created = github.create(body)
    actual = author_of(created)
    if actual and actual != author:
        print(
            f"comment: warning: this token comments as {actual}, not {author}; set "
            f"{COMMENT_AUTHOR_ENV}={actual} on the step so the next run edits this comment"
        )
    return "created", created


def local_images(report: str, folder: Path) -> list[str]:
    """The image targets of the report that are files next to it (not URLs), in order."""
    targets = []
    for match in IMAGE_RE.finditer(report):
        target = match.group(2)
        if "://" not in target and not target.startswith("data:") and (folder / target).is_file():
            targets.append(target)
    return list(dict.fromkeys(targets))


def condensed(output: str) -> str:
    """CML's failure output (JSON log lines, up to hundreds of KB) as one short phrase."""
    for line in output.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            message = json.loads(line).get("message") or line
        except (ValueError, AttributeError):
            message = line
        return str(message).splitlines()[0][:300]
    return "no output"


def cml_publish(image: Path, pull_request: PullRequest, env: Mapping[str, str]) -> str:
    """Upload one image with `cml asset publish`; its public URL."""
    mime = mimetypes.guess_type(image.name)[0] or "application/octet-stream"
    server = (env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
    command = [
        "cml",
        "asset",
        "publish",
        f"--mime-type={mime}",
        f"--repo={server}/{pull_request.repository}",
        str(image),
    ]
    try:
        done = subprocess.run(
            command,
            env={**env, "ITERATIVE_DO_NOT_TRACK": "1"},
            capture_output=True,
            text=True,
            timeout=CML_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        done = None
    lines = done.stdout.strip().splitlines() if done else []
    url = lines[-1].strip() if lines else ""
    if done is None or done.returncode != 0 or not url.startswith(("https://", "http://")):
        why = (
            f"no answer in {CML_TIMEOUT_SECONDS} s"
            if done is None
            else f"exit {done.returncode}: {condensed(done.stderr or done.stdout)}"
        )
        raise ProjectError(
            f"could not post the report on pull request #{pull_request.number}: "
            f"`cml asset publish` failed to upload {image} ({why}); set "
            f"report.publish_images: false to post the report without charts; {AFTERWORD}"
        )
    return url


def publish_images(report: str, folder: Path, pull_request, env: Mapping[str, str]) -> str:
    """The report with each local image link pointing at its upload; nothing else changes."""
    targets = local_images(report, folder)
    if not targets:
        return report
    if shutil.which("cml", path=env.get("PATH")) is None:
        raise ProjectError(
            "report.publish_images is true but cml is not on PATH; install it "
            "(`npm install --global @dvcorg/cml@0.20.6`) or set report.publish_images: false"
        )
    uploaded = {target: cml_publish(folder / target, pull_request, env) for target in targets}

    def relink(match: re.Match[str]) -> str:
        target = match.group(2)
        return match.group(1) + uploaded.get(target, target) + match.group(3)

    return IMAGE_RE.sub(relink, report)


def post(report_path: Path, poster: str, images: bool, env: Mapping[str, str]) -> int:
    pull_request = PullRequest.from_env(env)
    report = report_path.read_text(encoding="utf-8")
    if poster == "cml" and images:
        report = publish_images(report, report_path.resolve().parent, pull_request, env)
    action, comment = upsert(GitHub(pull_request), report, env)
    print(f"comment: {action} {comment.get('html_url') or comment.get('id')}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--poster", choices=POSTERS, help="override report.poster from params.yaml")
    parser.add_argument("--report", type=Path, help="markdown to post (default: paths.report)")


@dataclass(frozen=True)
class Options:
    poster: str | None = None
    report: Path | None = None


def run(params: Params, options: Options) -> int:
    report = Path(options.report or params.paths.report)
    if not report.is_file():
        raise ProjectError(f"{report} is missing; run `mlops report` first")
    poster = options.poster or params.report.poster
    return post(report, poster, params.report.publish_images, dict(os.environ))
