"""The shipped uv.lock must be exactly what `uv lock` makes of the baked pyproject.toml."""

from __future__ import annotations

from .conftest import bake, run, uv_executable


def test_shipped_lock_is_consistent_with_the_baked_pyproject(tmp_path):
    project = bake(tmp_path, project_name="Lock Check")
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
