"""pull: fetch from the DVC remote the outputs of the stages the branch did not change.

A stage whose dvc.lock record is the same as the baseline's (`report.baseline`) was
run and pushed there already, so its outputs are fetched and `dvc repro` skips it; a
stage the branch changed is not fetched, so `dvc repro` runs it again and the report can
say whether the branch's committed results come out. Without a remote this machine can
reach (the default remote is a folder beside the repository, absent on a CI runner),
nothing is fetched and `dvc repro` runs every stage. Never fails: fetching only saves time.

The data the pipeline starts from when it is DVC-tracked (a `dvc import-url` source or a
`dvc add`ed file, each a `.dvc` file git tracks) is fetched too, whatever changed:
`dvc repro` never rebuilds it (an import is frozen) and stops where it is missing.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..integrations import git
from ..integrations.dvc import (
    LOCK_FILE,
    changed_stages,
    dvc,
    last_line,
    lock_entries,
    shared_remote,
)
from ..params import Params


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--baseline",
        help="git revision whose dvc.lock tells the unchanged stages "
        "(default: report.baseline in params.yaml)",
    )


@dataclass(frozen=True)
class Options:
    baseline: str | None = None


def plan(baseline_lock: object, branch_lock: object) -> tuple[list[str], list[str]]:
    """(stages to fetch, stages `dvc repro` will run): unchanged ones are fetched."""
    changed = changed_stages(baseline_lock, branch_lock)
    unchanged = [stage for stage in lock_entries(branch_lock) if stage not in changed]
    return unchanged, changed


def data_files(root: Path) -> list[str]:
    """The `.dvc` files git tracks (imported or added data), relative to `root`."""
    listed = git.git(root, "ls-files", "-z", "--", ":(glob)**/*.dvc")
    if listed.returncode != 0:
        return []
    return sorted(name for name in listed.stdout.split("\0") if name)


def run(params: Params, options: Options) -> int:
    root = params.root
    remote = shared_remote(root)
    if remote is None:
        print(
            "pull: no DVC remote reachable from here (none is set, or the default is a folder "
            "this machine does not have), so `dvc repro` runs every stage; to reuse outputs, "
            "see README: Storage"
        )
        return 0
    lock_file = root / LOCK_FILE
    if not lock_file.is_file():
        print(f"pull: the branch has no {LOCK_FILE}, so `dvc repro` runs every stage")
        return 0
    branch_lock = yaml.safe_load(lock_file.read_text(encoding="utf-8"))
    revision = options.baseline or params.report.baseline
    try:
        _, commit = git.resolve(root, revision)
        text = git.show(root, commit, LOCK_FILE)
    except git.GitError as error:
        print(f"pull: {error}; fetching nothing, so `dvc repro` runs every stage")
        return 0
    fetch, rerun = plan(None if text is None else yaml.safe_load(text), branch_lock)
    data = data_files(root)
    if not fetch and not data:
        print(f"pull: the branch changed every stage against {revision}; fetching nothing")
        return 0
    # Two pulls: data missing from the remote does not keep the outputs from coming.
    fetched = []
    for targets, what in (
        (data, f"the data of {', '.join(data)}"),
        (fetch, f"the outputs of {', '.join(fetch)} (unchanged against {revision})"),
    ):
        if not targets:
            continue
        pulled = dvc(root, "pull", *targets)
        if pulled.returncode == 0:
            fetched.append(what)
        else:
            print(
                f"pull: `dvc pull` of {what} from remote '{remote}' did not fetch everything "
                f"({last_line(pulled.stderr or pulled.stdout)}); `dvc repro` runs what is missing"
            )
    if fetched:
        print(
            f"pull: fetched {' and '.join(fetched)} from remote '{remote}'; `dvc repro` runs "
            + (", ".join(rerun) if rerun else "nothing the branch changed")
        )
    return 0
