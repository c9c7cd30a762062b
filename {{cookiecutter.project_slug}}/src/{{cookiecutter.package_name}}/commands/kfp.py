"""kfp: the pipeline on Kubeflow Pipelines v2, built from the same stages and params.yaml.

`compile` writes the pipeline's IR YAML, `run --host URL` submits it to a KFP endpoint
(the experiment is named after the project, the run after the git commit) and prints
the run's URL, and `local` runs it here with kfp.local, each step a subprocess of this
environment. The Kubeflow Pipelines SDK is the optional `kubeflow` dependency group.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..catalog import STAGES
from ..errors import ProjectError
from ..io import read_json, shown
from ..params import KubeflowParams, Params, kubeflow_params

DEFAULT_PACKAGE = "build/pipeline.yaml"
DEFAULT_LOCAL_ROOT = "build/kfp-local"


class KubeflowError(ProjectError):
    """The Kubeflow Pipelines SDK is missing, or the KFP endpoint refused or did not answer."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    compiled = actions.add_parser("compile", help="write the pipeline's IR YAML")
    submitted = actions.add_parser("run", help="compile, then submit the pipeline to a KFP API")
    local = actions.add_parser("local", help="run the pipeline here with kfp.local")
    for sub in (compiled, submitted):
        sub.add_argument(
            "--output",
            type=Path,
            default=Path(DEFAULT_PACKAGE),
            help="where the IR YAML goes (default: %(default)s)",
        )
    for sub in (compiled, submitted, local):
        sub.add_argument(
            "--image",
            default=os.environ.get("KFP_IMAGE") or None,
            help="the project's image (default: $KFP_IMAGE, else params.yaml kubeflow.image)",
        )
    submitted.add_argument(
        "--host", required=True, help="the KFP API endpoint, e.g. http://localhost:8080"
    )
    local.add_argument(
        "--root",
        type=Path,
        default=Path(DEFAULT_LOCAL_ROOT),
        help="the local pipeline root: every step's artifacts (default: %(default)s)",
    )


@dataclass(frozen=True)
class Options:
    action: str
    image: str | None = None
    output: Path = Path(DEFAULT_PACKAGE)
    host: str = ""
    root: Path = Path(DEFAULT_LOCAL_ROOT)


def run(params: Params, options: Options) -> int:
    try:
        from ..integrations import kfp
    except ImportError as error:
        raise KubeflowError(
            f"the Kubeflow Pipelines SDK is not installed ({error}); "
            "run `uv sync --group kubeflow` (see the README, 'Kubeflow Pipelines')"
        ) from None
    settings = kubeflow_params(params, tuple(STAGES))
    if options.image:
        settings = KubeflowParams(image=options.image, resources=settings.resources)
    name = project_name(params.root)
    pipeline = kfp.build(name, settings)
    arguments = kfp.arguments(params)
    if options.action == "local":
        metrics = kfp.run_locally(pipeline, arguments, (params.root / options.root).resolve())
        scores = read_json(metrics)
        summary = ", ".join(f"{key}={value:.4f}" for key, value in scores.items())
        print(f"kfp: local run passed: {summary} -> {shown(metrics, params.root)}")
        return 0
    output = params.root / options.output
    kfp.compile_pipeline(pipeline, arguments, output)
    print(f"kfp: pipeline {name} ({', '.join(STAGES)}) -> {shown(output, params.root)}")
    if options.action == "run":
        submit(params, kfp, output, options.host.rstrip("/"), name, arguments)
    return 0


def submit(params: Params, kfp, package: Path, host: str, name: str, arguments: dict) -> None:
    from ..integrations.git import git_state

    commit, changed = git_state(params.root)
    label = (commit or "uncommitted")[:12] + ("-dirty" if changed else "")
    try:
        run_id = kfp.submit(package, host, name, f"{name}@{label}", arguments)
    except Exception as error:  # the client raises many types; every one means "not submitted"
        reason = " ".join(str(error).split())[:300]
        raise KubeflowError(
            f"could not submit to the KFP API at {host} ({type(error).__name__}: {reason}); "
            "check --host and that the endpoint is reachable"
        ) from None
    print(f"kfp: run {run_id} of {name} at commit {label}: {host}/#/runs/details/{run_id}")


def project_name(root: Path) -> str:
    """The distribution name in pyproject.toml: the project's name in KFP."""
    try:
        return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"][
            "name"
        ]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return root.name
