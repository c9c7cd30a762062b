"""DVC, asked through its CLI: do the outputs match dvc.lock, and what does dvc.lock record?

A deploy releases what `dvc.lock` records for the current commit; these checks
refuse anything else before the registry is touched. DVC runs as a subprocess of
this interpreter (`python -m dvc`), the same DVC the lock file installs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import ProjectError
from ..io import file_md5

LOCK_FILE = "dvc.lock"


class WorkspaceError(ProjectError):
    """The checkout does not match a commit and its dvc.lock."""


@dataclass(frozen=True)
class LockedOutputs:
    """What dvc.lock records: its own digest and the md5 of each output path."""

    digest: str
    outputs: dict[str, str]

    def md5(self, root: Path, path: Path) -> str:
        relative = path.relative_to(root).as_posix()
        try:
            return self.outputs[relative]
        except KeyError:
            raise WorkspaceError(
                f"{LOCK_FILE} records no output {relative}; run `dvc repro` and commit {LOCK_FILE}"
            ) from None


def lock_outputs(document: object) -> dict[str, str]:
    """The md5 of each output a parsed dvc.lock records (empty for anything else)."""
    if not isinstance(document, dict):
        return {}
    return {
        out["path"]: out["md5"]
        for stage in (document.get("stages") or {}).values()
        for out in (stage.get("outs") or [])
        if isinstance(out, dict) and "md5" in out
    }


def require_recorded(root: Path, path: Path, outputs: dict[str, str]) -> None:
    """Refuse a file that differs from the md5 dvc.lock records for it: new metrics from a
    stage that failed or was interrupted, or an edit by hand, are not the branch's results.
    Nothing is refused when dvc.lock records no md5 for the file."""
    relative = Path(path).resolve().relative_to(root.resolve()).as_posix()
    recorded = outputs.get(relative)
    if recorded is None or not Path(path).is_file() or file_md5(path) == recorded:
        return
    raise WorkspaceError(
        f"{relative} does not match the md5 {LOCK_FILE} records for it (a stage failed or "
        f"was interrupted, or the file was edited); run `dvc repro` to make the results "
        f"again, or `dvc checkout {relative}` to restore the recorded ones"
    )


def read_lock(root: Path) -> LockedOutputs:
    path = root / LOCK_FILE
    if not path.is_file():
        raise WorkspaceError(
            f"{LOCK_FILE} is missing: nothing was run yet; run `dvc repro` and commit {LOCK_FILE}"
        )
    outputs = lock_outputs(yaml.safe_load(path.read_text(encoding="utf-8")))
    return LockedOutputs(digest=file_md5(path), outputs=outputs)


def outputs_here(root: Path) -> bool:
    """Whether every output dvc.lock records is in the workspace (present, not verified:
    `require_in_sync` compares them with the lock). False without a dvc.lock."""
    if not (root / LOCK_FILE).is_file():
        return False
    return all((root / path).exists() for path in read_lock(root).outputs)


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def dvc(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "dvc", *args]
    try:
        return subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    except OSError as error:
        raise WorkspaceError(f"could not run DVC: {error}; is it installed?") from None


def dvc_status(root: Path) -> dict[str, list]:
    result = dvc(root, "status", "--json")
    if result.returncode != 0:
        raise WorkspaceError(f"`dvc status` failed: {last_line(result.stderr)}")
    return json.loads(result.stdout or "{}")


def describe_stale(status: dict[str, list]) -> list[str]:
    """One phrase per stage that `dvc status` reports, naming what changed."""
    phrases = []
    for stage, changes in status.items():
        what = []
        for change in changes:
            if isinstance(change, str):
                what.append(change)
                continue
            for kind, items in change.items():
                names = ", ".join(
                    f"{path} ({state if isinstance(state, str) else ', '.join(state)})"
                    for path, state in items.items()
                )
                what.append(f"{kind}: {names}")
        phrases.append(f"stage '{stage}' ({'; '.join(what)})")
    return phrases


def only_missing(status: dict[str, list]) -> bool:
    """True when every change is an output or dependency file that is simply not there."""
    states = [
        state
        for changes in status.values()
        for change in changes
        if isinstance(change, dict)
        for items in change.values()
        for state in items.values()
    ]
    plain = all(isinstance(change, dict) for changes in status.values() for change in changes)
    return plain and bool(states) and all(state in ("deleted", "not in cache") for state in states)


DEPLOY_NEVER_RETRAINS = (
    "Deploy never retrains: run `dvc repro` and commit dvc.lock and metrics.json "
    "(or `dvc checkout --force` to restore the recorded outputs)"
)


def require_in_sync(root: Path, fix: str = DEPLOY_NEVER_RETRAINS) -> None:
    """Refuse unless every output matches dvc.lock; fetch missing outputs from the remote first.

    `fix` ends the refusal: what the caller's user should do about it."""
    status = dvc_status(root)
    if status and only_missing(status):
        pulled = dvc(root, "pull")
        if pulled.returncode != 0:
            where_from = (
                "push them from the machine that ran the pipeline (`dvc push`) to a remote "
                "this machine can reach (README: Storage)"
                if fix == DEPLOY_NEVER_RETRAINS
                else fix
            )
            raise WorkspaceError(
                "the pipeline outputs in dvc.lock are missing here and `dvc pull` could not fetch "
                f"them ({last_line(pulled.stderr)}); {where_from}"
            )
        status = dvc_status(root)
    if status:
        raise WorkspaceError(
            "the workspace does not match dvc.lock: "
            + "; ".join(describe_stale(status))
            + f". {fix}"
        )


def push_outputs(root: Path) -> str:
    """Store every output of dvc.lock in the default remote; returns DVC's summary line."""
    pushed = dvc(root, "push")
    if pushed.returncode != 0:
        raise WorkspaceError(
            f"`dvc push` failed ({last_line(pushed.stderr)}); check the default remote in "
            ".dvc/config (`dvc remote list`) and its credentials"
        )
    return last_line(pushed.stdout)


def lock_entries(document: object) -> dict[str, dict[str, str]]:
    """Stage -> {path: md5} of every dependency and output a parsed dvc.lock records,
    with the stage's parameters under the params file's name."""
    if not isinstance(document, dict):
        return {}
    entries: dict[str, dict[str, str]] = {}
    for stage, recorded in (document.get("stages") or {}).items():
        files: dict[str, str] = {}
        for kind in ("deps", "outs"):
            for item in recorded.get(kind) or []:
                if isinstance(item, dict) and "path" in item:
                    files[item["path"]] = str(item.get("md5") or item.get("hash") or "")
        for params_file, values in (recorded.get("params") or {}).items():
            files[params_file] = json.dumps(values, sort_keys=True)
        entries[stage] = files
    return entries


def lock_differences(committed: object, current: object) -> list[tuple[str, str]]:
    """(stage, path) for every file or params entry whose record differs between two
    parsed dvc.lock documents; a stage on one side only is (stage, "")."""
    before, after = lock_entries(committed), lock_entries(current)
    differences = []
    for stage in sorted(set(before) | set(after)):
        if stage not in before or stage not in after:
            differences.append((stage, ""))
            continue
        old, new = before[stage], after[stage]
        differences += [
            (stage, path) for path in sorted(set(old) | set(new)) if old.get(path) != new.get(path)
        ]
    return differences


def changed_stages(baseline: object, branch: object) -> list[str]:
    """The stages whose dvc.lock record differs between the baseline and the branch."""
    return sorted({stage for stage, _ in lock_differences(baseline, branch)})


def shared_remote(root: Path) -> str | None:
    """The default remote's name when it is reachable from here: a URL with a scheme
    (s3://, gs://, ssh://, ...) or a folder that exists. None for no remote, or for the
    local default folder on a machine that does not have it (a CI runner)."""
    default = dvc(root, "remote", "default")
    name = default.stdout.strip()
    if default.returncode != 0 or not name:
        return None
    # The URL as written in the config (`dvc remote list` wraps a long one over lines).
    url = dvc(root, "config", f"remote.{name}.url").stdout.strip()
    if "://" in url:
        return name
    folder = Path(url) if Path(url).is_absolute() else root / ".dvc" / url
    return name if url and folder.is_dir() else None
