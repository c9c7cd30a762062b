"""take-results: copy a pull request's recomputed results into its checkout, as files.

The pull-request workflow reproduces the branch in one job (the branch's code runs
there, with no token that can write) and judges it in another, on a fresh runner,
with the base commit's code. The first job uploads its workspace; this command, run
by the judge, copies from that upload into the judge's checkout of the pull request
only what the pipeline produced: `dvc.lock`, every output it records, each file of an input it
records that the checkout lacks (data DVC tracks outside git), and the MLflow run
record (`paths.train_run`). Nothing else of the upload is taken, and nothing taken is
run. It refuses, naming the path, anything that could reach outside the checkout or
into a hidden folder such as `.git`: absolute paths, `..`, hidden names, links, and
anything that is neither a file nor a folder of files.

The upload has no DVC cache (hidden folders are not uploaded), so DVC could not tell
whether the outputs match `dvc.lock` and the report's check would try to pull them.
`dvc commit` of the stages dvc.lock records (not the `.dvc` files of imported data,
which the checkout keeps as they are) stores them in the checkout's cache; when that
would record anything other
than what the results' `dvc.lock` says, the outputs are not the ones it records, and
the results are refused.
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from ..errors import ProjectError
from ..integrations.dvc import LOCK_FILE, dvc, last_line, lock_differences, lock_entries
from ..params import DEFAULT_PARAMS_FILE, Params, load_params


class ResultsError(ProjectError):
    """The uploaded results cannot be taken as they are."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source", type=Path, help="the folder the branch's results were downloaded to"
    )
    parser.add_argument(
        "--workspace",
        type=Path,
        required=True,
        help="the checkout of the pull request to copy them into",
    )


@dataclass(frozen=True)
class Options:
    source: Path
    workspace: Path


def checked_relative(path: object, what: str) -> PurePosixPath:
    """`path` as a plain relative path inside the project, or a refusal naming it."""
    if not isinstance(path, str) or not path.strip():
        raise ResultsError(f"{what}: {path!r} is not a path")
    relative = PurePosixPath(path)
    if relative.is_absolute() or any(part in ("", "..") for part in relative.parts):
        raise ResultsError(f"{what}: {path!r} leaves the project; paths must be relative")
    if any(part.startswith(".") for part in relative.parts):
        raise ResultsError(f"{what}: {path!r} names a hidden file or folder; not taken")
    return relative


def recorded_paths(lock: object) -> tuple[list[PurePosixPath], list[PurePosixPath]]:
    """(outputs, inputs) that a parsed dvc.lock records, each checked."""
    if not isinstance(lock, dict) or not isinstance(lock.get("stages"), dict):
        raise ResultsError(f"the results' {LOCK_FILE} has no `stages`")
    outputs: list[PurePosixPath] = []
    inputs: list[PurePosixPath] = []
    for stage, recorded in lock["stages"].items():
        if not isinstance(recorded, dict):
            raise ResultsError(f"the results' {LOCK_FILE}: stage {stage!r} is not a mapping")
        for kind, into in (("outs", outputs), ("deps", inputs)):
            for item in recorded.get(kind) or []:
                path = item.get("path") if isinstance(item, dict) else None
                into.append(checked_relative(path, f"{LOCK_FILE} stage {stage!r} {kind}"))
    return outputs, inputs


def _no_link_on_the_way(root: Path, relative: PurePosixPath) -> None:
    """Refuse a destination reached through a link (the checkout is the branch's too)."""
    here = root
    for part in relative.parts:
        here = here / part
        if here.is_symlink():
            raise ResultsError(
                f"{relative}: {here.relative_to(root)} in the checkout is a link; not written"
            )


def _files_of(source: Path, relative: PurePosixPath) -> list[PurePosixPath]:
    """Every file under `relative` in the upload (itself when it is a file), or a refusal."""
    start = source / relative
    mode = os.lstat(start).st_mode
    if stat.S_ISREG(mode):
        return [relative]
    if not stat.S_ISDIR(mode):
        raise ResultsError(f"{relative} in the results is a link or special file; not taken")
    found = []
    for folder, names, files in os.walk(start):
        for name in names + files:
            path = Path(folder) / name
            inner = checked_relative(path.relative_to(source).as_posix(), "the results")
            mode = os.lstat(path).st_mode
            if stat.S_ISREG(mode):
                found.append(inner)
            elif not stat.S_ISDIR(mode):
                raise ResultsError(f"{inner} in the results is a link or special file; not taken")
    return found


def take(source: Path, workspace: Path) -> list[PurePosixPath]:
    """Copy the pipeline's results from `source` into `workspace`; the paths taken."""
    source, workspace = source.resolve(), workspace.resolve()
    if not (workspace / DEFAULT_PARAMS_FILE).is_file():
        raise ResultsError(
            f"--workspace {workspace}: no {DEFAULT_PARAMS_FILE} there; pass the checkout of the "
            "pull request"
        )
    lock_file = source / LOCK_FILE
    if not lock_file.is_file() or lock_file.is_symlink():
        raise ResultsError(
            f"{source}: no {LOCK_FILE} in the results; the job that reproduces the branch "
            "uploads its workspace after `dvc repro`"
        )
    try:
        lock = yaml.safe_load(lock_file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ResultsError(f"the results' {LOCK_FILE} cannot be parsed ({error})") from None
    outputs, inputs = recorded_paths(lock)
    # Lexically, without following links: a link in the checkout is refused below.
    checkout_params = load_params(workspace / DEFAULT_PARAMS_FILE)
    run_record = checked_relative(
        Path(os.path.relpath(checkout_params.paths.train_run, checkout_params.root)).as_posix(),
        "paths.train_run",
    )
    wanted = [PurePosixPath(LOCK_FILE), *outputs]
    missing = [path for path in wanted if not os.path.lexists(source / path)]
    if missing:
        raise ResultsError(
            f"the results lack {', '.join(map(str, missing))}, which {LOCK_FILE} records; "
            "did `dvc repro` finish in the job that reproduces the branch?"
        )
    if os.path.lexists(source / run_record):
        wanted.append(run_record)
    taken = [file for path in wanted for file in _files_of(source, path)]
    # Inputs only where the checkout lacks them (data git ignores, such as an imported
    # source in a folder of tracked files); what the checkout has stays its own.
    for path in inputs:
        if os.path.lexists(source / path):
            taken += [file for file in _files_of(source, path)
                      if not os.path.lexists(workspace / file)]  # fmt: skip
    # Every file checked before the first is written: a refusal takes nothing.
    files = list(dict.fromkeys(taken))
    for file in files:
        _no_link_on_the_way(workspace, file)
    for file in files:
        destination = workspace / file
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / file, destination, follow_symlinks=False)
    cache_the_outputs(workspace, lock)
    return files


def cache_the_outputs(workspace: Path, lock: object) -> None:
    """`dvc commit` the taken outputs into the checkout's cache; refuse them, keeping the
    results' dvc.lock, when DVC finds they are not the ones that dvc.lock records."""
    if not (workspace / "dvc.yaml").is_file():
        return
    lock_file = workspace / LOCK_FILE
    taken = lock_file.read_bytes()
    stages = sorted(lock_entries(lock))
    if not stages:
        return
    committed = dvc(workspace, "commit", "--force", "--quiet", *stages)
    if committed.returncode != 0:
        lock_file.write_bytes(taken)
        raise ResultsError(
            f"`dvc commit` could not store the results in the checkout's DVC cache "
            f"({last_line(committed.stderr)})"
        )
    differences = lock_differences(lock, yaml.safe_load(lock_file.read_text(encoding="utf-8")))
    lock_file.write_bytes(taken)
    if differences:
        named = ", ".join(f"{path} (stage '{stage}')" if path else f"stage '{stage}'"
                          for stage, path in differences)  # fmt: skip
        raise ResultsError(
            f"the results are not what their {LOCK_FILE} records: {named}; the job that "
            f"reproduces the branch uploads its workspace right after `dvc repro`"
        )


def run(params: Params, options: Options) -> int:
    taken = take(options.source, options.workspace)
    print(f"take-results: {len(taken)} files of the branch's results copied into the checkout")
    return 0
