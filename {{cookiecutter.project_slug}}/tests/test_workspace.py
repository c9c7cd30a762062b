"""What makes a checkout releasable: a clean commit and outputs that match dvc.lock."""

import subprocess

import pytest
import yaml

from {{ cookiecutter.package_name }}.integrations.dvc import WorkspaceError, describe_stale, only_missing, read_lock
from {{ cookiecutter.package_name }}.integrations.git import GitError, git_commit
from {{ cookiecutter.package_name }}.io import file_md5


def git(root, *args):
    return subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_a_release_needs_a_clean_commit(tmp_path):
    with pytest.raises(GitError, match="not a git repository with a commit"):
        git_commit(tmp_path)
    git(tmp_path, "init", "-q")
    (tmp_path / "params.yaml").write_text("a: 1\n")
    git(tmp_path, "add", "params.yaml")
    git(tmp_path, "commit", "-qm", "first")
    (tmp_path / "untracked.txt").write_text("ignored\n")
    assert git_commit(tmp_path) == git(tmp_path, "rev-parse", "HEAD")

    (tmp_path / "params.yaml").write_text("a: 2\n")
    with pytest.raises(GitError, match=r"uncommitted changes \(params.yaml\)"):
        git_commit(tmp_path)


def test_stale_stages_are_named_with_what_changed():
    status = {
        "train": [{"changed deps": {"params.yaml": {"model": "modified"}}}],
        "evaluate": [{"changed deps": {"models/model": "modified"}}, "always changed"],
    }
    assert describe_stale(status) == [
        "stage 'train' (changed deps: params.yaml (model))",
        "stage 'evaluate' (changed deps: models/model (modified); always changed)",
    ]
    assert not only_missing(status)
    assert only_missing({"train": [{"changed outs": {"models/model": "deleted"}}]})


def test_lock_digest_and_outputs(tmp_path):
    lock = {
        "schema": "2.0",
        "stages": {
            "ingest": {"outs": [{"path": "data/raw/data.parquet", "md5": "abc", "size": 1}]},
            "train": {"outs": [{"path": "models/model", "md5": "def.dir", "size": 2}]},
        },
    }
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump(lock))
    read = read_lock(tmp_path)
    assert read.digest == file_md5(tmp_path / "dvc.lock")
    assert read.md5(tmp_path, tmp_path / "models" / "model") == "def.dir"
    with pytest.raises(WorkspaceError, match=r"records no output metrics\.json"):
        read.md5(tmp_path, tmp_path / "metrics.json")


def test_no_lock_means_nothing_to_release(tmp_path):
    with pytest.raises(WorkspaceError, match=r"dvc\.lock is missing"):
        read_lock(tmp_path)
