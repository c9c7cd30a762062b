"""What a branch is compared with: metrics.json, params.yaml and dvc.lock at a git revision.

The baseline is read with `git show REV:path`, so it needs the revision's
commit and nothing else: a shallow CI clone works once the baseline branch is
fetched (`git fetch origin main:main`). The workspace side is read from disk,
because that is what `dvc repro` just produced.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ProjectError
from .params import Params


class BaselineError(ProjectError):
    """The baseline revision is missing from the clone, or its files cannot be read."""


@dataclass(frozen=True)
class Snapshot:
    """One side of the comparison; a file that does not exist there is None."""

    label: str
    commit: str | None
    metrics: dict[str, float] | None
    params: dict[str, Any] | None
    dvc_lock: dict[str, Any] | None
    dirty: bool = False


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    except OSError as error:
        raise BaselineError(f"git could not run ({error}); install git") from None


def fetch_hint(revision: str) -> str:
    return (
        f"fetch it with `git fetch origin {revision}:{revision}` (in a shallow clone "
        f"`git fetch --depth=1 origin {revision}:{revision}` is enough), or pass --baseline REV"
    )


def resolve(root: Path, revision: str) -> tuple[str, str]:
    """The name that resolved and its commit; `origin/REV` stands in for a missing local REV."""
    if _git(root, "rev-parse", "--git-dir").returncode != 0:
        raise BaselineError(
            f"{root} is not inside a git repository; the report compares with a git "
            "revision, so run it in a clone of the project"
        )
    for candidate in (revision, f"origin/{revision}"):
        found = _git(root, "rev-parse", "--verify", "--quiet", candidate + "^{commit}")
        if found.returncode == 0:
            return candidate, found.stdout.strip()
    raise BaselineError(
        f"the baseline revision {revision!r} is not in this clone; " + fetch_hint(revision)
    )


def flat_numbers(document: Any, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a (possibly nested) metrics document, with dotted keys."""
    if isinstance(document, dict):
        found: dict[str, float] = {}
        for key, value in document.items():
            found.update(flat_numbers(value, f"{prefix}{key}."))
        return found
    if isinstance(document, int | float) and not isinstance(document, bool):
        return {prefix.rstrip("."): float(document)}
    return {}


def _parse(text: str, relative: str, where: str) -> Any:
    try:
        return json.loads(text) if relative.endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise BaselineError(f"{relative} at {where} cannot be parsed ({error})") from None


def _relative(params: Params, path: Path) -> str:
    return path.relative_to(params.root).as_posix()


def _tracked_files(params: Params) -> dict[str, str]:
    return {
        "metrics": _relative(params, params.paths.metrics),
        "params": "params.yaml",
        "dvc_lock": "dvc.lock",
    }


def at_revision(params: Params, revision: str) -> Snapshot:
    """The committed files at `revision` (relative to the project folder inside the repo)."""
    name, commit = resolve(params.root, revision)
    documents: dict[str, Any] = {}
    for key, relative in _tracked_files(params).items():
        spec = f"{commit}:./{relative}"
        if _git(params.root, "cat-file", "-e", spec).returncode != 0:
            documents[key] = None
            continue
        shown = _git(params.root, "show", spec)
        if shown.returncode != 0:
            raise BaselineError(f"git show {name}:{relative} failed: {shown.stderr.strip()}")
        documents[key] = _parse(shown.stdout, relative, name)
    return Snapshot(
        label=name,
        commit=commit,
        metrics=None if documents["metrics"] is None else flat_numbers(documents["metrics"]),
        params=documents["params"],
        dvc_lock=documents["dvc_lock"],
    )


def workspace(params: Params, label: str = "branch") -> Snapshot:
    """The files on disk, as `dvc repro` left them."""
    documents: dict[str, Any] = {}
    for key, relative in _tracked_files(params).items():
        path = params.root / relative
        documents[key] = (
            _parse(path.read_text(encoding="utf-8"), relative, "the workspace")
            if path.is_file()
            else None
        )
    if documents["metrics"] is None:
        raise BaselineError(
            f"{_tracked_files(params)['metrics']} is missing; run `dvc repro` before the report"
        )
    head = _git(params.root, "rev-parse", "--verify", "--quiet", "HEAD")
    status = _git(params.root, "status", "--porcelain", "--untracked-files=no", "--", ".")
    return Snapshot(
        label=label,
        commit=head.stdout.strip() if head.returncode == 0 else None,
        metrics=flat_numbers(documents["metrics"]),
        params=documents["params"],
        dvc_lock=documents["dvc_lock"],
        dirty=bool(status.stdout.strip()),
    )


def commits_between(params: Params, baseline: str, head: str) -> int | None:
    """How many commits the branch is ahead of the baseline; None in a shallow clone."""
    if _git(params.root, "rev-parse", "--is-shallow-repository").stdout.strip() == "true":
        return None
    counted = _git(params.root, "rev-list", "--count", f"{baseline}..{head}")
    return int(counted.stdout) if counted.returncode == 0 else None
