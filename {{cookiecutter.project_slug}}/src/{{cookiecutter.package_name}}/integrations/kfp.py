"""Kubeflow Pipelines v2: the DVC pipeline's stages as KFP components, in the project's image.

Each component is a lightweight Python component whose base image is the project's
own image (the package and its locked dependencies installed, the project files at
its working directory). Its body only finds this package and calls
`kfp_step.run_stage`, which runs the stage's own `run(params)` with `paths:` pointed
at the component's input and output artifacts: the same code as `dvc repro`, on the
same params. The same component definitions compile to IR for a cluster and run
here with kfp.local's SubprocessRunner (which runs lightweight components only).

Pipeline parameters are the params.yaml keys each dvc.yaml stage lists under
`params:` (dots become underscores; a whole section is JSON text, named `<key>_json`),
and artifacts are named after the `paths:` keys dvc.yaml wires, so the two graphs can
be compared (tests/test_kfp.py). Only `mlops kfp` imports this module (kfp is the
optional `kubeflow` dependency group), and the steps themselves inside the image.
"""

import json
import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kfp import compiler, dsl
from kfp.dsl import Artifact, Dataset, Input, Markdown, Metrics, Model, Output

from ..errors import ProjectError
from ..params import KubeflowParams, Params

# Parameters holding a whole params.yaml section travel as JSON text: KFP's struct
# parameters turn every integer into a float (seed: 42.0, max_iter: 1000.0).
JSON_SUFFIX = "_json"


def parameter_name(key: str, value: Any) -> str:
    """The pipeline parameter for a params.yaml key that a dvc.yaml stage lists."""
    return key.replace(".", "_") + (JSON_SUFFIX if isinstance(value, dict) else "")


# --- The components. Their source runs on its own inside the image (KFP copies the
# function, not the module), so each one imports what it needs and calls run_stage of
# kfp_step, which does not import kfp (the step's executor has kfp half-imported).


def ingest(
    data_json: str,
    raw: Output[Dataset],
    features: Output[Artifact],
):
    import importlib
    import importlib.metadata

    (mlops,) = importlib.metadata.entry_points(group="console_scripts", name="mlops")
    steps = importlib.import_module(mlops.module.rpartition(".")[0] + ".integrations.kfp_step")
    steps.run_stage("ingest", {"data": data_json}, {"raw": raw, "features": features})


def validate(
    task: str,
    validation_suite: str,
    raw: Input[Dataset],
    features: Input[Artifact],
    validation: Output[Artifact],
    validation_summary: Output[Markdown],
):
    import importlib
    import importlib.metadata

    (mlops,) = importlib.metadata.entry_points(group="console_scripts", name="mlops")
    steps = importlib.import_module(mlops.module.rpartition(".")[0] + ".integrations.kfp_step")
    steps.run_stage(
        "validate",
        {"task": task, "validation.suite": validation_suite},
        {
            "raw": raw,
            "features": features,
            "validation": validation,
            "validation_summary": validation_summary,
        },
    )


def split(
    task: str,
    split_json: str,
    raw: Input[Dataset],
    validation: Input[Artifact],
    features: Input[Artifact],
    train: Output[Dataset],
    test: Output[Dataset],
):
    import importlib
    import importlib.metadata

    (mlops,) = importlib.metadata.entry_points(group="console_scripts", name="mlops")
    steps = importlib.import_module(mlops.module.rpartition(".")[0] + ".integrations.kfp_step")
    steps.run_stage(
        "split",
        {"task": task, "split": split_json},
        {"raw": raw, "validation": validation, "features": features, "train": train, "test": test},
    )


def train(
    task: str,
    split_seed: int,
    model_json: str,
    train: Input[Dataset],
    features: Input[Artifact],
    model: Output[Model],
):
    import importlib
    import importlib.metadata

    (mlops,) = importlib.metadata.entry_points(group="console_scripts", name="mlops")
    steps = importlib.import_module(mlops.module.rpartition(".")[0] + ".integrations.kfp_step")
    steps.run_stage(
        "train",
        {"task": task, "split.seed": split_seed, "model": model_json},
        {"train": train, "features": features, "model": model},
    )


def evaluate(
    task: str,
    data_json: str,
    split_json: str,
    model_json: str,
    model: Input[Model],
    test: Input[Dataset],
    features: Input[Artifact],
    raw: Input[Dataset],
    train: Input[Dataset],
    metrics: Output[Metrics],
    train_run: Output[Artifact],
    plots: Output[Artifact],
    outcomes: Output[Dataset],
):
    import importlib
    import importlib.metadata

    (mlops,) = importlib.metadata.entry_points(group="console_scripts", name="mlops")
    steps = importlib.import_module(mlops.module.rpartition(".")[0] + ".integrations.kfp_step")
    artifacts = {"model": model, "test": test, "features": features, "raw": raw, "train": train}
    artifacts.update(metrics=metrics, train_run=train_run, plots=plots, outcomes=outcomes)
    steps.run_stage(
        "evaluate",
        {"task": task, "data": data_json, "split": split_json, "model": model_json},
        artifacts,
    )
    for name, value in steps.read_json(metrics.path).items():
        metrics.log_metric(name, value)


STEPS: dict[str, Callable] = {
    step.__name__: step for step in (ingest, validate, split, train, evaluate)
}


def arguments(params: Params) -> dict[str, Any]:
    """The pipeline's parameters from params.yaml: every key a step reads."""
    keys = {"data", "validation.suite", "task", "split", "split.seed", "model"}
    values = {}
    for key in sorted(keys):
        node: Any = params.raw
        for part in key.split("."):
            node = node[part]
        values[parameter_name(key, node)] = json.dumps(node) if isinstance(node, dict) else node
    return values


def _step_maker(settings: KubeflowParams):
    """`step(stage, **inputs)`: the stage's component called on its inputs, as a task
    named after the stage and sized by `kubeflow.resources`."""
    made = {
        stage: dsl.component(function, base_image=settings.image, install_kfp_package=False)
        for stage, function in STEPS.items()
    }

    def step(stage: str, **inputs):
        resources = settings.resources[stage]
        return (
            made[stage](**inputs)
            .set_display_name(stage)
            .set_cpu_request(resources.cpu)
            .set_memory_request(resources.memory)
        )

    return step


def build(name: str, settings: KubeflowParams):
    """The pipeline function: the five steps wired as dvc.yaml wires the stages."""
    step = _step_maker(settings)

    @dsl.pipeline(name=name, description=f"{name}: ingest, validate, split, train, evaluate")
    def pipeline(
        data_json: str,
        validation_suite: str,
        task: str,
        split_json: str,
        split_seed: int,
        model_json: str,
    ) -> Metrics:
        ingested = step("ingest", data_json=data_json)
        raw, features = ingested.outputs["raw"], ingested.outputs["features"]
        validated = step(
            "validate", task=task, validation_suite=validation_suite, raw=raw, features=features
        )
        held_out = step(
            "split",
            task=task,
            split_json=split_json,
            raw=raw,
            validation=validated.outputs["validation"],
            features=features,
        )
        trained = step(
            "train",
            task=task,
            split_seed=split_seed,
            model_json=model_json,
            train=held_out.outputs["train"],
            features=features,
        )
        evaluated = step(
            "evaluate",
            task=task,
            data_json=data_json,
            split_json=split_json,
            model_json=model_json,
            model=trained.outputs["model"],
            test=held_out.outputs["test"],
            features=features,
            raw=raw,
            train=held_out.outputs["train"],
        )
        return evaluated.outputs["metrics"]

    return pipeline


def compile_pipeline(pipeline, arguments: dict[str, Any], output: Path) -> None:
    """Write the pipeline's IR YAML, with params.yaml's values as the parameters' defaults."""
    output.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(pipeline, str(output), pipeline_parameters=arguments)


def run_locally(pipeline, arguments: dict[str, Any], pipeline_root: Path) -> Path:
    """Run every step as a subprocess of this environment (kfp.local); the metrics file.

    Raises ProjectError naming the step that failed.
    """
    from kfp import local

    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(pipeline_root),
        raise_on_error=True,
    )
    # The steps run in this environment on purpose, not in the image kfp.local warns about.
    warnings.filterwarnings("ignore", "You may be attemp", RuntimeWarning, "kfp.local")
    try:
        metrics = pipeline(**arguments).output
    except RuntimeError as error:
        reason = re.sub(r"\x1b\[[0-9;]*m", "", str(error))  # kfp colours its messages
        raise ProjectError(f"the local Kubeflow run failed: {reason}") from None
    return Path(metrics.path)


def submit(package: Path, host: str, experiment: str, run_name: str, arguments: dict) -> str:
    """Submit the compiled pipeline to a KFP API, in `experiment` (made if missing); the run id.

    A bearer token in KFP_TOKEN is sent when set (an endpoint behind authentication).
    """
    import kfp

    with warnings.catch_warnings():  # "only works with KFP v2.0.0-beta.2 and later"
        warnings.simplefilter("ignore", FutureWarning)
        client = kfp.Client(host=host, existing_token=os.environ.get("KFP_TOKEN") or None)
    experiment_id = client.create_experiment(name=experiment).experiment_id
    run = client.run_pipeline(
        experiment_id=experiment_id,
        job_name=run_name,
        pipeline_package_path=str(package),
        params=arguments,
    )
    return run.run_id
