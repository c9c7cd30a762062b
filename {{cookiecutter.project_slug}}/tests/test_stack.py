"""mlops stack up: what it needs before it starts anything."""

import importlib.util

import pytest

from {{ cookiecutter.package_name }}.commands import stack
from {{ cookiecutter.package_name }}.params import load_params


def test_local_s3_without_the_s3_group_names_the_install(write_params, monkeypatch):
    params = load_params(write_params())
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        stack.importlib.util,
        "find_spec",
        lambda name, *rest: None if name == "moto" else real_find_spec(name, *rest),
    )

    def no_server(*args, **kwargs):
        raise AssertionError("a server was started without moto")

    monkeypatch.setattr(stack, "_start", no_server)
    with pytest.raises(stack.StackError) as refused:
        stack.up(params, stack.Options(action="up", local_s3=True))
    assert str(refused.value).startswith("--local-s3 needs moto")
    assert "(not installed): run `uv sync --group s3`" in str(refused.value)
    assert not (params.root / stack.STATE / "pids.json").exists()
