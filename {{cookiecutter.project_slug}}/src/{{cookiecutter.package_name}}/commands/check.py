"""`mlops check`: do dvc.yaml, params.yaml, the CLI and the data suites agree?

CI runs this on every push, before any data is pulled, so it only reads files:
DVC resolves `dvc.yaml` against `params.yaml` (every `${...}` must exist) and
builds the stage graph, then each stage is checked against the project:

- its command, when it calls this project's CLI, names a registered command;
- every key in its `params:` list exists in params.yaml;
- every dependency exists in the repository or is an output of a stage (or a
  DVC-tracked file);
- its dependencies cover every module of this package that its command runs: the
  stage's module and, transitively, every project module it imports (read from the
  code), so that a change to any of them makes DVC rerun the stage;
- every output is one of `paths:` in params.yaml, so no path is written twice.

Then the GX suite that `validate` uses (`validation.suite`) must load: a
missing, malformed or invalid suite file is named with its fix. Last, every module of
the code that judges a pull request (what `split`, `evaluate`, `mlops gate` and
`mlops report` run, read from the imports the same way) must have an owner in
.github/CODEOWNERS, so a change to how the project splits, scores or judges waits for
the reviewers of the rules.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import shlex
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..catalog import COMMANDS, module_name
from ..errors import ProjectError
from ..params import DEFAULT_PARAMS_FILE, Params, describe_schema


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--schema",
        action="store_true",
        help="print every key params.yaml takes and what it holds, then exit",
    )


@dataclass(frozen=True)
class Options:
    schema: bool = False


DEFAULTS = Options()


def run(params: Params, options: Options = DEFAULTS) -> int:
    if options.schema:
        print("\n".join(describe_schema()))
        return 0
    print("check: reading dvc.yaml with DVC; comparing each stage with the CLI and its code")
    problems, notes = check_pipeline(params)
    print("check: reading the data suites")
    suite_problems, suite_notes = check_suites(params)
    problems += suite_problems
    print("check: reading .github/CODEOWNERS")
    problems += unowned_judging_code(params.root)
    for line in notes + suite_notes:
        print(f"check: {line}")
    for problem in problems:
        print(f"check: FAILED: {problem}")
    if problems:
        print(f"check: {len(problems)} problem(s) found")
        return 1
    print("check: dvc.yaml, params.yaml, the CLI and the data suites agree")
    return 0


def check_pipeline(params: Params) -> tuple[list[str], list[str]]:
    """Problems and notes about dvc.yaml as DVC itself reads it."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo
    from dvc.stage import PipelineStage

    try:
        with Repo(str(params.root)) as repo:
            stages = list(repo.index.stages)
            repo.index.check_graph()
            pipeline = [stage for stage in stages if isinstance(stage, PipelineStage)]
            produced = {_path(stage, out) for stage in stages for out in stage.outs}
            problems = [] if pipeline else ["dvc.yaml defines no stages; restore the pipeline"]
            for stage in pipeline:
                print(f"check: stage {stage.name}")
                problems += _stage_problems(stage, params, produced)
    except DvcException as error:
        return [f"dvc.yaml cannot be loaded: {error}; fix dvc.yaml or params.yaml"], []
    return problems, [f"dvc.yaml: {len(pipeline)} stages ({', '.join(s.name for s in pipeline)})"]


def _stage_problems(stage: Any, params: Params, produced: set[Path]) -> list[str]:
    where = f"dvc.yaml stage '{stage.name}'"
    problems = []
    command = _cli_command(stage.cmd)
    if command is not None and command not in COMMANDS:
        problems.append(
            f"{where}: command {command!r} is not a command of the project CLI; "
            f"use one of {', '.join(COMMANDS)} or register it in catalog.py"
        )
    params_file = (params.root / DEFAULT_PARAMS_FILE).resolve()
    for dep in stage.deps:
        keys = getattr(dep, "params", None)
        if keys is not None:
            if _path(stage, dep) != params_file:
                continue
            for key in keys:
                if not _has_key(params.raw, key):
                    problems.append(
                        f"{where}: params key `{key}` is not in params.yaml; "
                        "add it there or remove it from the stage's `params:`"
                    )
            continue
        path = _path(stage, dep)
        if not path.exists() and not _is_produced(path, produced):
            problems.append(
                f"{where}: dependency {dep.def_path} does not exist and no stage writes it; "
                "fix the path in dvc.yaml (or params.yaml `paths:`)"
            )
    if command in COMMANDS:
        problems += _uncovered_code(stage, params, command)
    declared = {Path(value).resolve() for value in vars(params.paths).values()}
    for out in stage.outs:
        if _path(stage, out) not in declared:
            problems.append(
                f"{where}: output {out.def_path} is not one of `paths:` in params.yaml; "
                "add it there and write it as ${paths.<name>} in dvc.yaml"
            )
    return problems


PACKAGE = (__package__ or "").rpartition(".")[0]


def _uncovered_code(stage: Any, params: Params, command: str) -> list[str]:
    """A problem for each project module the stage runs that no dependency covers."""
    package_dir = params.root / "src" / PACKAGE
    if not package_dir.is_dir():  # not the src layout: nothing to compare with
        return []
    deps = [_path(stage, dep) for dep in stage.deps if getattr(dep, "params", None) is None]
    missing = [
        module.relative_to(params.root.resolve()).as_posix()
        for module in sorted(code_of(package_dir, module_name(command)))
        if not any(module == dep or dep in module.parents for dep in deps)
    ]
    return [
        f"dvc.yaml stage '{stage.name}': runs {path} (imported by its command) but does not "
        "depend on it, so a change there would leave the stage looking up to date; add it "
        "to the stage's `deps:`"
        for path in missing
    ]


def code_of(package_dir: Path, module: str) -> set[Path]:
    """The files of `module` and of every project module it imports, directly or not.

    Imports anywhere in a file count (also those inside functions). Package
    `__init__.py` files that hold only a docstring run no code and are left out.
    """
    package_dir = package_dir.resolve()
    seen: set[Path] = set()
    pending = [module]
    while pending:
        file = _module_file(package_dir, pending.pop())
        if file is None or file in seen:
            continue
        seen.add(file)
        pending += imported_modules(file, package_dir)
    return {file for file in seen if not _only_docstring(file)}


def _module_file(package_dir: Path, module: str) -> Path | None:
    base = package_dir.joinpath(*module.split(".")) if module else package_dir
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def imported_modules(file: Path, package_dir: Path) -> list[str]:
    """Project modules (dotted, relative to the package) that a file imports."""
    parts = list(file.relative_to(package_dir).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
        here = parts
    else:
        here = parts[:-1]
    found = []
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = here[: len(here) - (node.level - 1)]
                target = [*anchor, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.split(".")[0] == PACKAGE:
                target = node.module.split(".")[1:]
            else:
                continue
            found.append(".".join(target))
            found += [".".join([*target, alias.name]) for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names = alias.name.split(".")
                if names[0] == PACKAGE:
                    found += [".".join(names[1:i]) for i in range(1, len(names) + 1)]
    # Importing a module runs its packages' __init__ files first.
    with_parents = set(found)
    for name in found:
        pieces = name.split(".") if name else []
        with_parents.update(".".join(pieces[:i]) for i in range(len(pieces)))
    return sorted(with_parents)


def _only_docstring(file: Path) -> bool:
    body = ast.parse(file.read_text(encoding="utf-8")).body
    return all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body)


def _cli_command(cmd: Any) -> str | None:
    """The CLI command a stage runs, or None when the stage runs something else."""
    if not isinstance(cmd, str):
        return None
    try:
        words = shlex.split(cmd)
    except ValueError:
        return None
    if words[:3] == ["python", "-m", PACKAGE]:
        words = words[3:]
    elif words[:1] == ["mlops"]:
        words = words[1:]
    else:
        return None
    while words and words[0].startswith("-"):
        words = words[2:] if words[0] == "--params" else words[1:]
    return words[0] if words else None


def _has_key(document: Any, dotted: str) -> bool:
    node = document
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _path(stage: Any, dependency_or_output: Any) -> Path:
    return (Path(stage.wdir) / dependency_or_output.def_path).resolve()


def _is_produced(path: Path, produced: set[Path]) -> bool:
    return any(path == out or out in path.parents or path in out.parents for out in produced)


def check_suites(params: Params) -> tuple[list[str], list[str]]:
    """Load the suite the `validate` stage uses, as that stage would (GX is imported here)."""
    from ..integrations.gx import load_suite

    try:
        load_suite(params.suite_path)
    except ProjectError as error:
        return [f"data suite: {error}"], []
    return [], [f"data suite: {params.validation.suite} loads"]


# What a pull request is judged with: the test rows (split), the scores (evaluate), the
# verdict (gate) and what reviewers read (report); their imports are judging code too.
JUDGING_MODULES = ("stages.split", "stages.evaluate", "commands.gate", "commands.report")
CODEOWNERS = Path(".github") / "CODEOWNERS"


def judging_code(root: Path) -> list[str]:
    """The files (relative to `root`) of every project module that splits, scores,
    judges or reports a pull request, read from the imports as for stage deps."""
    package_dir = root / "src" / PACKAGE
    if not package_dir.is_dir():
        return []
    files: set[Path] = set()
    for module in JUDGING_MODULES:
        files |= code_of(package_dir, module)
    return sorted(file.relative_to(root.resolve()).as_posix() for file in files)


def owner_rules(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """(pattern, owners) of each CODEOWNERS line, in file order."""
    rules = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            rules.append((words[0], tuple(words[1:])))
    return rules


def _matches(pattern: str, path: str) -> bool:
    """CODEOWNERS' gitignore-like patterns, the forms this project writes."""
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    pattern = pattern.strip("/") if pattern.endswith("/") else pattern.lstrip("/")
    directory = not fnmatch.fnmatchcase(path, pattern) and any(
        fnmatch.fnmatchcase("/".join(path.split("/")[:i]), pattern)
        for i in range(1, path.count("/") + 1)
    )
    if anchored:
        return fnmatch.fnmatchcase(path, pattern) or directory
    return any(fnmatch.fnmatchcase(part, pattern) for part in path.split("/"))


def owners_of(rules: list[tuple[str, tuple[str, ...]]], path: str) -> tuple[str, ...]:
    """The owners GitHub asks for: the last matching line wins."""
    found: tuple[str, ...] = ()
    for pattern, owners in rules:
        if _matches(pattern, path):
            found = owners
    return found


def unowned_judging_code(root: Path) -> list[str]:
    """A problem for each judging module CODEOWNERS gives no owner."""
    file = root / CODEOWNERS
    if not file.is_file():
        return [
            f"{CODEOWNERS.as_posix()} is missing: the code that judges pull requests "
            "needs owners who must review its changes; restore the file"
        ]
    rules = owner_rules(file.read_text(encoding="utf-8"))
    return [
        f"{CODEOWNERS.as_posix()}: {path} splits, scores, judges or reports pull requests "
        "(imported by `split`, `evaluate`, `mlops gate` or `mlops report`) but has no "
        "owner; add a line `/" + path + " <owners>`"
        for path in judging_code(root)
        if not owners_of(rules, path)
    ]
