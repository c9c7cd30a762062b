"""The fixture of the end-to-end tests: `scenario(**answers)`, see scenario.py."""

from __future__ import annotations

import pytest

from ..conftest import bake
from .scenario import Scenario


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, project_env):
    """Bake a project with `answers`, install it; the Scenario that drives it."""

    def make(**answers: str) -> Scenario:
        project = bake(tmp_path_factory.mktemp("e2e"), **answers)
        project_env.install(project)
        return Scenario(project, project_env)

    return make
