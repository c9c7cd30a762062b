"""The deploy and rollback workflows of a baked project: triggers, privileges, inputs, linters."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

from .conftest import TEMPLATE, bake

PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w.-]+)*@[0-9a-f]{40}$")


@pytest.fixture(scope="module")
def workflows(tmp_path_factory):
    project = bake(tmp_path_factory.mktemp("release-workflows"))
    folder = project / ".github" / "workflows"
    return folder, {
        name: yaml.safe_load((folder / f"{name}.yml").read_text())
        for name in ("deploy", "rollback")
    }


def triggers(workflow: dict) -> dict:
    # YAML 1.1 reads the key `on` as True.
    return workflow.get("on", workflow.get(True))


def test_deploy_runs_on_main_and_by_hand_one_at_a_time(workflows):
    _, loaded = workflows
    deploy = loaded["deploy"]
    assert triggers(deploy) == {"push": {"branches": ["main"]}, "workflow_dispatch": None}
    assert set(triggers(loaded["rollback"])) == {"workflow_dispatch"}
    for workflow in loaded.values():
        assert workflow["permissions"] == {}
        assert workflow["concurrency"] == {
            "group": "production-release",
            "cancel-in-progress": False,
        }
        for job in workflow["jobs"].values():
            assert job["timeout-minutes"] <= 30
            assert job["env"]["MLFLOW_TRACKING_URI"] == "${{ secrets.MLFLOW_TRACKING_URI }}"
            for step in job["steps"]:
                if "uses" in step:
                    assert PIN.match(step["uses"]), step["uses"]
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False
                if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@"):
                    assert step["if"] == "vars.AWS_RELEASE_ROLE_ARN != ''"
                    assert step["with"]["role-to-assume"] == "${{ vars.AWS_RELEASE_ROLE_ARN }}"
                    assert "aws-access-key-id" not in step["with"], "OIDC only, no stored keys"
                if "run" in step:
                    assert step["run"].startswith("uv "), "every step is a project command"
    # Two environments on the run page: staging (tests), then production.
    jobs = deploy["jobs"]
    assert {name: job["environment"] for name, job in jobs.items()} == {
        "staging": "staging",
        "production": "production",
    }
    assert jobs["production"]["needs"] == "staging"
    # A local-storage bake (the default) signs in nowhere: no OIDC token (storage=s3 below).
    # pull-requests: read, and the token on each step that runs the champion gate: a
    # regression merged with the override label passes it, and the version records who.
    read = {"contents": "read", "pull-requests": "read"}
    assert jobs["staging"]["permissions"] == jobs["production"]["permissions"] == read
    gated = [
        step for job in jobs.values() for step in job["steps"]
        if "mlops deploy" in step.get("run", "") and "--check-storage" not in step["run"]
    ]  # fmt: skip
    assert len(gated) == 3
    for step in gated:
        assert step["env"] == {"GITHUB_TOKEN": "${{ github.token }}"}, step["run"]
    # Without shared storage the staging job skips the release (a notice) and production too.
    assert jobs["staging"]["outputs"] == {"ready": "${{ steps.storage.outputs.ready }}"}
    assert jobs["production"]["if"] == "needs.staging.outputs.ready == 'true'"
    commands = [
        s["run"] for job in jobs.values() for s in job["steps"] if "mlops" in s.get("run", "")
    ]
    assert commands == [
        "uv run mlops deploy --check-storage",
        "uv run mlops deploy --check",
        'uv run mlops deploy --to staging --summary "$GITHUB_STEP_SUMMARY"',
        'uv run mlops deploy --summary "$GITHUB_STEP_SUMMARY"',
    ]
    (rollback,) = loaded["rollback"]["jobs"].values()
    assert rollback["environment"] == "production"
    assert rollback["permissions"] == {"contents": "read"}


def test_the_image_is_built_and_pushed_to_ghcr_tagged_with_the_commit(workflows):
    folder, _ = workflows
    image = yaml.safe_load((folder / "image.yml").read_text())
    assert triggers(image)["push"] == {"branches": ["main"]}
    (job,) = image["jobs"].values()
    assert job["permissions"] == {"contents": "read", "packages": "write"}
    assert job["env"]["COMMIT"] == "${{ github.sha }}"
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert any(run.startswith("docker build") and ":$COMMIT" in run for run in runs)
    assert any(run.startswith("docker push") and ":$COMMIT" in run for run in runs)
    assert all("${{" not in run for run in runs)


def test_the_rollback_version_reaches_the_shell_only_through_env(workflows):
    folder, loaded = workflows
    text = (folder / "rollback.yml").read_text()
    run_lines = [line for line in text.splitlines() if line.strip().startswith("run:")]
    assert all("${{" not in line for line in run_lines)
    (step,) = [
        s for s in loaded["rollback"]["jobs"]["rollback"]["steps"] if "rollback" in s.get("run", "")
    ]
    assert step["env"] == {"VERSION": "${{ inputs.version }}"}
    assert step["run"] == 'uv run mlops rollback --version "$VERSION"'


@pytest.mark.parametrize(
    "command",
    [
        ["zizmor", "--offline", "--persona", "pedantic"],
        ["check-jsonschema", "--builtin-schema", "vendor.github-workflows"],
    ],
    ids=["zizmor", "schema"],
)
def test_linters_accept_the_release_workflows(workflows, command):
    folder, _ = workflows
    tool = shutil.which(command[0])
    assert tool, f"{command[0]} is not on PATH: run the tests with `make test`"
    files = [str(folder / f"{name}.yml") for name in ("deploy", "rollback", "image")]
    result = subprocess.run([tool, *command[1:], *files], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rollback_keeps_the_manifest_it_rewrote(workflows):
    """`mlops rollback` rewrites deploy/kserve/production.yaml; the workflow uploads it as
    the deploy does, so the newest manifest names the version now in production."""
    _, loaded = workflows
    steps = loaded["rollback"]["jobs"]["rollback"]["steps"]
    rolled = next(i for i, s in enumerate(steps) if "mlops rollback" in s.get("run", ""))
    deployed = [
        s for job in loaded["deploy"]["jobs"].values() for s in job["steps"]
        if s.get("with", {}).get("name") == "kserve-production"
    ]  # fmt: skip
    uploads = [s for s in steps[rolled + 1 :] if "upload-artifact" in s.get("uses", "")]
    assert [s["with"]["path"] for s in uploads] == [deployed[0]["with"]["path"]]
    assert uploads[0]["with"]["name"] == "kserve-production"


@pytest.mark.parametrize("storage", ["local", "s3"])
def test_only_jobs_that_sign_in_to_aws_may_request_an_oidc_token(tmp_path, storage):
    """`id-token: write` exists only with storage=s3, and there only beside an AWS sign-in."""
    project = bake(tmp_path, storage=storage, report_poster="cml")
    folder = project / ".github" / "workflows"
    signing_in, with_token = set(), set()
    for path in sorted(folder.glob("*.yml")):
        assert "{%" not in path.read_text(encoding="utf-8"), "rendered"
        workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert "id-token" not in (workflow.get("permissions") or {}), path.name
        for name, job in workflow["jobs"].items():
            uses = [step.get("uses", "") for step in job.get("steps", [])]
            if any(use.startswith("aws-actions/configure-aws-credentials@") for use in uses):
                signing_in.add(f"{path.stem}.{name}")
            if (job.get("permissions") or {}).get("id-token") is not None:
                with_token.add(f"{path.stem}.{name}")
    assert with_token == signing_in
    if storage == "local":
        assert with_token == set()
        assert "id-token" not in " ".join(p.read_text() for p in folder.glob("*.yml"))
    else:
        assert with_token == {
            "deploy.staging",
            "deploy.production",
            "report.build",
            "report.judge",
            "retrain.monitor",
            "retrain.retrain",
        }


def test_workflows_are_copied_verbatim_or_rendered_by_name():
    """`_copy_without_render` names each verbatim workflow; the rendered ones carry answers."""
    config = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
    verbatim = config["_copy_without_render"]
    source = TEMPLATE / "{{cookiecutter.project_slug}}" / ".github" / "workflows"
    workflows = {f".github/workflows/{path.name}": path for path in source.iterdir()}
    assert not [name for name in verbatim if "*" in name or "?" in name], "names, not patterns"
    assert set(verbatim) <= set(workflows), "every name is a workflow of the template"
    for name, path in workflows.items():
        assert name.endswith(".yml"), f"{name}: workflows end in .yml, rendered or not"
        rendered = "{{ cookiecutter." in path.read_text() or "{%" in path.read_text()
        assert rendered != (name in verbatim), f"{name}: render it, or list it as verbatim"


def json_after(markdown: str, label: str) -> dict:
    """The JSON block that follows the paragraph starting with `label`."""
    start = markdown.index(label)
    block = re.search(r"```json\n(.*?)```", markdown[start:], re.S)
    assert block, f"no JSON block after {label!r}"
    return json.loads(block.group(1))


def subjects(policy: dict) -> list[str]:
    found = []
    for statement in policy["Statement"]:
        for condition in statement["Condition"].values():
            value = condition.get("token.actions.githubusercontent.com:sub")
            if value is not None:
                found += value if isinstance(value, list) else [value]
    return found


def test_unmerged_code_gets_only_the_read_role(tmp_path):
    project = bake(tmp_path, storage="s3", report_poster="cml")
    readme = (project / "README.md").read_text(encoding="utf-8")
    release_trust = json_after(readme, "Trust policy of the release role")
    assert sorted(subjects(release_trust)) == [
        "repo:OWNER/REPO:environment:production",
        "repo:OWNER/REPO:environment:staging",
        "repo:OWNER/REPO:ref:refs/heads/main",
    ]
    for statement in release_trust["Statement"]:
        assert "StringLike" not in statement["Condition"], "no wildcard subject"
    read_grants = json_after(readme, "Permissions of the read role")["Statement"]
    assert {action for s in read_grants for action in s["Action"]} == {
        "s3:ListBucket",
        "s3:GetObject",
    }
    release_grants = json_after(readme, "Permissions of the release role")["Statement"]
    resources = [r for s in release_grants for r in s["Resource"]]
    assert all(not r.endswith("/mlflow/*") and "/mlflow" not in r for r in resources)

    # The role each job asks for: a job that runs code not on main gets the read role.
    folder = project / ".github" / "workflows"
    roles = {}
    for path in sorted(folder.glob("*.y*ml")):
        workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
        for name, job in workflow["jobs"].items():
            for step in job.get("steps", []):
                if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@"):
                    role = re.fullmatch(
                        r"\$\{\{ vars\.(AWS_\w+_ROLE_ARN) \}\}", step["with"]["role-to-assume"]
                    ).group(1)
                    assert step["if"].startswith(f"vars.{role} != ''")
                    roles[f"{path.stem}.{name}"] = (role, job.get("environment"))
    assert roles == {
        "deploy.staging": ("AWS_RELEASE_ROLE_ARN", "staging"),
        "deploy.production": ("AWS_RELEASE_ROLE_ARN", "production"),
        "report.build": ("AWS_READ_ROLE_ARN", None),
        "report.judge": ("AWS_READ_ROLE_ARN", None),
        "retrain.monitor": ("AWS_READ_ROLE_ARN", None),
        "retrain.retrain": ("AWS_RELEASE_ROLE_ARN", None),
    }
    # retrain is the one release-role job without an environment: it runs on main only.
    retrain = yaml.safe_load((folder / "retrain.yml").read_text(encoding="utf-8"))
    assert set(triggers(retrain)) <= {"schedule", "workflow_dispatch", "repository_dispatch"}

    # CML: installed without install scripts or AWS credentials; its token taken back out.
    for name, job_name in (("report.yml", "judge"), ("retrain.yml", "retrain")):
        steps = yaml.safe_load((folder / name).read_text(encoding="utf-8"))["jobs"][job_name][
            "steps"
        ]
        (install,) = [s for s in steps if "npm install" in s.get("run", "")]
        assert "--ignore-scripts" in install["run"]
        assert all(install["env"][key] == "" for key in ("AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN"))
    retrain_steps = retrain["jobs"]["retrain"]["steps"]
    index = next(i for i, s in enumerate(retrain_steps) if "cml pr create" in s.get("run", ""))
    cleanup = retrain_steps[index + 1]
    assert cleanup["if"] == "always()"
    assert cleanup["run"] == 'git remote set-url origin "$GITHUB_SERVER_URL/$GITHUB_REPOSITORY.git"'
