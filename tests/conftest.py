"""Shared helpers: bake the template, install a baked project, run commands in it."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]

# Telemetry off, no interpreter downloads, no prompts: for every process a test starts.
QUIET_ENV = {
    "DVC_NO_ANALYTICS": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "UV_PYTHON_DOWNLOADS": "never",
    "UV_NO_PROGRESS": "1",
    "GIT_TERMINAL_PROMPT": "0",
}
os.environ.update(QUIET_ENV)


def choice_options() -> dict[str, list[str]]:
    """Every public answer of cookiecutter.json that is a choice, with its values."""
    answers = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
    return {
        key: values
        for key, values in answers.items()
        if isinstance(values, list) and not key.startswith("_")
    }


def cycled_variants(options: dict[str, list[str]]) -> list[dict[str, str]]:
    """Independent options cycle together, so every value is baked at least once."""
    width = max(len(values) for values in options.values())
    return [{key: values[i % len(values)] for key, values in options.items()} for i in range(width)]


def pairwise_variants(options: dict[str, list[str]]) -> list[dict[str, str]]:
    """Few variants in which every pair of values of two different options occurs together.

    Greedy: from all combinations, in order, keep the one that covers the most pairs
    not yet covered, until none is left. Deterministic, so test ids are stable.
    """
    keys = list(options)
    combinations = [
        dict(zip(keys, values, strict=True)) for values in itertools.product(*options.values())
    ]

    def pairs(variant: dict[str, str]) -> set[tuple[str, str, str, str]]:
        return {(a, variant[a], b, variant[b]) for a, b in itertools.combinations(keys, 2)}

    uncovered = set().union(*(pairs(variant) for variant in combinations))
    chosen = []
    while uncovered:
        best = max(combinations, key=lambda variant: len(pairs(variant) & uncovered))
        chosen.append(best)
        uncovered -= pairs(best)
    return chosen


def variant_id(variant: dict[str, str]) -> str:
    return "-".join(variant.values())


def bake(output_dir: Path, **answers: str) -> Path:
    """Bake the template without prompts; return the project directory."""
    return Path(
        cookiecutter(
            str(TEMPLATE), no_input=True, output_dir=str(output_dir), extra_context=answers
        )
    )


def run(
    command: Sequence[str | os.PathLike],
    cwd: Path,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float = 900,
) -> subprocess.CompletedProcess[str]:
    """Run a command, and on an unexpected exit code fail with its output in the message."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        text=True,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} exited {result.returncode} in {cwd}\n"
            f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}"
        )
    return result


class ProjectEnv:
    """One virtual environment shared by every baked project a session installs.

    Baked projects share their locked dependencies, so `uv sync --locked` into
    the same environment only swaps the editable project: seconds, not minutes.
    """

    def __init__(self, venv: Path):
        self.venv = venv
        self.env = {
            **os.environ,
            "UV_PROJECT_ENVIRONMENT": str(venv),
            "UV_PYTHON": sys.executable,
            "VIRTUAL_ENV": str(venv),
            # This machine sets PYTHONDONTWRITEBYTECODE, so nothing would cache the .pyc
            # files and every stage would spend seconds compiling its imports again.
            "UV_COMPILE_BYTECODE": "1",
            "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        }
        self.env.pop("MLFLOW_TRACKING_URI", None)

    def install(self, project: Path) -> None:
        run([uv_executable(), "sync", "--locked"], cwd=project, env=self.env)

    def run(
        self,
        command: Sequence[str | os.PathLike],
        cwd: Path,
        check: bool = True,
        timeout: float = 900,
        **extra_env: str,
    ) -> subprocess.CompletedProcess[str]:
        return run(command, cwd=cwd, env={**self.env, **extra_env}, check=check, timeout=timeout)


def uv_executable() -> str:
    found = shutil.which("uv")
    if found is None:
        pytest.fail("uv is not on PATH: run the tests with `make test`, which installs it")
    return found


@pytest.fixture(scope="session")
def project_env(tmp_path_factory) -> ProjectEnv:
    return ProjectEnv(tmp_path_factory.mktemp("project-env") / "venv")


@pytest.fixture
def installed_project(tmp_path, project_env):
    """Bake with the given answers and install it: `installed_project(task="regression")`."""

    def make(**answers: str) -> Path:
        project = bake(tmp_path, **answers)
        project_env.install(project)
        return project

    return make
