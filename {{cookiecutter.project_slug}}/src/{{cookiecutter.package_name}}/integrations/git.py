"""git, asked through its CLI: which commit is checked out, is it clean, and what a file held
at another revision.

Files of a revision are read with `git show REV:path`, so they need the revision's commit
and nothing else: a shallow CI clone works once the baseline branch is fetched
(`git fetch origin main:main`).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ..errors import ProjectError


class GitError(ProjectError):
    """git is missing, the checkout is not a clean commit, or a revision is not in the clone."""


def git(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run git in `root` (with `env` added to the environment); the caller reads the exit code."""
    try:
        return subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
            env=None if env is None else {**os.environ, **env},
        )
    except OSError as error:
        raise GitError(f"git could not run ({error}); install git") from None


def git_state(root: Path) -> tuple[str | None, list[str]]:
    """The checked-out commit (None outside a repository with one) and the tracked files
    under `root` that differ from it: the one meaning of "uncommitted changes" here."""
    head = git(root, "rev-parse", "--verify", "--quiet", "HEAD")
    if head.returncode != 0:
        return None, []
    status = git(root, "status", "--porcelain", "--untracked-files=no", "--", ".")
    return head.stdout.strip(), [line[3:] for line in status.stdout.splitlines() if line.strip()]


def git_commit(root: Path) -> str:
    """The checked-out commit; refuses a checkout with uncommitted changes to tracked files."""
    commit, changed = git_state(root)
    if commit is None:
        raise GitError(
            f"{root} is not a git repository with a commit; a release is tied to a commit, "
            "so commit first"
        )
    if changed:
        listed = ", ".join(changed[:5]) + (
            f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        )
        raise GitError(
            f"the git workspace has uncommitted changes ({listed}); a release must be exactly a "
            "commit: commit or stash them"
        )
    return commit


def fetch_hint(revision: str) -> str:
    return (
        f"fetch it with `git fetch origin {revision}:{revision}` (in a shallow clone "
        f"`git fetch --depth=1 origin {revision}:{revision}` is enough), or pass --baseline REV"
    )


def resolve(root: Path, revision: str) -> tuple[str, str]:
    """The name that resolved and its commit; `origin/REV` stands in for a missing local REV."""
    if git(root, "rev-parse", "--git-dir").returncode != 0:
        raise GitError(
            f"{root} is not inside a git repository; the report compares with a git "
            "revision, so run it in a clone of the project"
        )
    for candidate in (revision, f"origin/{revision}"):
        found = git(root, "rev-parse", "--verify", "--quiet", candidate + "^{commit}")
        if found.returncode == 0:
            return candidate, found.stdout.strip()
    raise GitError(
        f"the baseline revision {revision!r} is not in this clone; " + fetch_hint(revision)
    )


def show(root: Path, commit: str, relative: str) -> str | None:
    """The text of a file (relative to `root`) at `commit`, or None if it is not there."""
    spec = f"{commit}:./{relative}"
    if git(root, "cat-file", "-e", spec).returncode != 0:
        return None
    shown = git(root, "show", spec)
    if shown.returncode != 0:
        raise GitError(f"git show {commit[:12]}:{relative} failed: {shown.stderr.strip()}")
    return shown.stdout


def commits_between(root: Path, baseline: str, head: str) -> int | None:
    """How many commits `head` is ahead of `baseline`; None in a shallow clone."""
    if git(root, "rev-parse", "--is-shallow-repository").stdout.strip() == "true":
        return None
    counted = git(root, "rev-list", "--count", f"{baseline}..{head}")
    return int(counted.stdout) if counted.returncode == 0 else None


def remote_commit(url: str, ref: str | None = None, timeout: float = 60) -> tuple[str | None, str]:
    """The commit `ref` (default: the remote's HEAD) names in the repository at `url`, by
    `git ls-remote`, and why not when it cannot be read: (commit, "") or (None, reason)."""
    wanted = ref or "HEAD"
    try:
        done = subprocess.run(
            ["git", "ls-remote", "--", url, wanted],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    except OSError as error:
        return None, f"git could not run ({error})"
    except subprocess.TimeoutExpired:
        return None, f"no answer in {timeout:.0f} s"
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        return None, (lines[0] if lines else f"git ls-remote exited {done.returncode}").strip()
    for line in done.stdout.splitlines():
        commit, _, name = line.partition("\t")
        if name in (wanted, f"refs/heads/{wanted}", f"refs/tags/{wanted}"):
            return commit, ""
    return None, f"it has no branch or tag {wanted!r}"
