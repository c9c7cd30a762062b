"""The package's layers: core is pure, and each command lives where its name says."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.catalog import COMMANDS, STAGES, load, module_name
from {{ cookiecutter.package_name }}.commands.check import imported_modules

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "src" / "{{ cookiecutter.package_name }}"
HEAVY = ("mlflow", "great_expectations", "dvc", "git")


def loaded_after_importing(modules: list[str]) -> set[str]:
    """Top-level packages in sys.modules after importing `modules` in a fresh interpreter."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stdout))


def test_core_imports_none_of_the_heavy_integrations():
    core = sorted(
        f"{{ cookiecutter.package_name }}.core.{path.stem}"
        for path in (PACKAGE_DIR / "core").glob("*.py")
        if path.stem != "__init__"
    )
    assert len(core) >= 8
    assert not loaded_after_importing(core) & set(HEAVY)


@pytest.mark.parametrize("command", ["report", "gate", "post-report", "smoke-test", "pull"])
def test_light_commands_stay_light(command):
    loaded = loaded_after_importing([f"{{ cookiecutter.package_name }}.{module_name(command)}"])
    assert not loaded & {*HEAVY, "sklearn", "pandas", "scipy"}


def test_every_command_has_a_module_named_after_it():
    for command in COMMANDS:
        folder = "stages" if command in STAGES else "commands"
        expected = PACKAGE_DIR / folder / f"{command.replace('-', '_')}.py"
        assert expected.is_file(), command
        assert module_name(command) == f"{folder}.{expected.stem}"
    commands = {path.stem for path in (PACKAGE_DIR / "commands").glob("*.py")} - {"__init__"}
    assert commands == {name.replace("-", "_") for name in COMMANDS if name not in STAGES}


def import_graph() -> dict[str, list[str]]:
    """Each module of the package (dotted, relative to it) and the project modules it
    imports anywhere in its file, read with `ast` as `mlops check` reads stage code."""
    modules = {
        ".".join(path.relative_to(PACKAGE_DIR).with_suffix("").parts): path
        for path in PACKAGE_DIR.rglob("*.py")
    }
    modules = {
        name.removesuffix(".__init__").removesuffix("__init__"): path
        for name, path in modules.items()
    }
    return {
        name: [
            other
            for other in imported_modules(path, PACKAGE_DIR)
            if other in modules and other != name
        ]
        for name, path in modules.items()
    }


def test_params_imports_nothing_from_core():
    imported = import_graph()["params"]
    assert "vocabulary" in imported
    assert not [name for name in imported if name == "core" or name.startswith("core.")]


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """One import cycle of the graph, as the modules along it, or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        path.append(module)
        for other in graph[module]:
            cycle = visit(other)
            if cycle:
                return cycle
        path.pop()
        done.add(module)
        return None

    return next((cycle for module in graph if (cycle := visit(module))), None)


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["b"], "b": [], "c": ["a", "b"]}) is None


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert len(graph) > 40
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_nothing_in_the_package_imports_the_cli():
    importers = [name for name, imported in import_graph().items() if "cli" in imported]
    assert importers == ["__main__"]


def test_the_catalog_says_which_commands_take_options():
    for name, command in COMMANDS.items():
        assert hasattr(load(name), "add_arguments") == command.options, name
