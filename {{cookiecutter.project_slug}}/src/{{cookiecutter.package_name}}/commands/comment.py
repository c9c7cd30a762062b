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
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..errors import ProjectError
from ..integrations.github import GitHub, PullRequest, ReadOnlyToken
from ..params import POSTERS, Params

TITLE = "mlops report"
MARKER = "<!-- mlops report: updated in place by `mlops comment` -->"
# GitHub rejects comment bodies over 65536 characters.
MAX_BODY = 65_000


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
