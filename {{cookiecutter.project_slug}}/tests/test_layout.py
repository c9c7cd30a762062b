"""The package's layers: core is pure, and each command lives where its name says."""

import argparse
import ast
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.catalog import COMMANDS, STAGES, load, module_name
from {{ cookiecutter.package_name }}.cli import build_parser, options_of
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
        module = load(name)
        assert hasattr(module, "add_arguments") == command.options, name
        assert hasattr(module, "Options") == command.options, name


def parsed_arguments(command: str) -> set[str]:
    """Every argument a command's parser declares, as the attribute argparse sets."""
    parser = build_parser([command])
    found: set[str] = set()
    pending = [parser._subparsers._group_actions[0].choices[command]]  # type: ignore[union-attr]
    while pending:
        for action in pending.pop()._actions:
            if action.choices and isinstance(action.choices, dict):  # nested subcommands
                pending += action.choices.values()
            if action.dest not in ("help", "params", "==SUPPRESS=="):
                found.add(action.dest)
    return found


@pytest.mark.parametrize("command", [name for name, c in COMMANDS.items() if c.options])
def test_each_command_option_is_a_field_of_its_frozen_options(command):
    options = load(command).Options
    assert dataclasses.is_dataclass(options) and options.__dataclass_params__.frozen
    fields = {field.name for field in dataclasses.fields(options)}
    assert parsed_arguments(command) == fields


def test_the_cli_refuses_an_argument_its_options_lack():
    from types import SimpleNamespace

    module = SimpleNamespace(__name__="stand_in", Options=load("pull").Options)
    with pytest.raises(TypeError, match=r"stand_in\.Options has no field for unknown"):
        options_of(module, argparse.Namespace(command="pull", baseline=None, unknown=1))
    options = options_of(module, argparse.Namespace(command="pull", params="p", baseline="main"))
    assert options == load("pull").Options(baseline="main")


# A function longer than this is split: a reader sees each step of it on one screen.
LONGEST_FUNCTION = 60


def function_lengths() -> dict[str, int]:
    """Lines of every function and method of the package, by `module.py:name`."""
    lengths = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                where = f"{path.relative_to(PACKAGE_DIR).as_posix()}:{node.lineno} {node.name}"
                lengths[where] = (node.end_lineno or node.lineno) - node.lineno + 1
    return lengths


def test_no_function_is_longer_than_a_screen():
    lengths = function_lengths()
    assert len(lengths) > 200
    too_long = {where: lines for where, lines in lengths.items() if lines > LONGEST_FUNCTION}
    assert not too_long, f"split these functions (lines each): {too_long}"
