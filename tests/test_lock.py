"""The shipped uv.lock must be exactly what `uv lock` makes of the baked pyproject.toml."""

from __future__ import annotations

import itertools

import pytest

from .conftest import bake, choice_options, run, uv_executable


@pytest.mark.parametrize(
    ("orchestrator", "storage"),
    list(itertools.product(choice_options()["orchestrator"], choice_options()["storage"])),
)
def test_shipped_lock_is_consistent_with_the_baked_pyproject(tmp_path, orchestrator, storage):
    """One lock serves every answer: the kubeflow and s3 groups are in it either way, and
    only orchestrator=kubeflow (storage=s3) installs the first (second) by default."""
    project = bake(tmp_path, project_name="Lock Check", orchestrator=orchestrator, storage=storage)
    before = (project / "uv.lock").read_text(encoding="utf-8")
    result = run([uv_executable(), "lock", "--check"], cwd=project)
    assert "Resolved" in result.stderr
    assert (project / "uv.lock").read_text(encoding="utf-8") == before


def test_a_stale_lock_is_detected(tmp_path):
    project = bake(tmp_path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text(encoding="utf-8").replace(
            '"scipy>=1.13",', '"scipy>=1.13",\n    "rich",'
        ),
        encoding="utf-8",
    )
    result = run([uv_executable(), "lock", "--check"], cwd=project, check=False)
    assert result.returncode != 0
