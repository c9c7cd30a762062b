"""What a Kubeflow step runs inside the project's image: one stage of dvc.yaml.

The components of integrations/kfp.py call `run_stage` from their own copied source.
This module imports no kfp: the step's executor is still importing kfp when it runs
the component, and a second import of kfp's compiler from here would be circular.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..catalog import STAGES, load
from ..errors import ProjectError
from ..params import DEFAULT_PARAMS_FILE, params_from, read_document

# The pipeline parameters that carry a whole params.yaml section, as JSON text.
SECTIONS = ("data", "split", "model")


def run_stage(stage: str, parameters: dict[str, Any], artifacts: dict[str, Any]) -> None:
    """Run a stage inside a component: params.yaml of the working directory, with the
    pipeline's parameters over it and `paths:` pointed at the artifacts.

    Exits as the CLI does: 2 with one `error:` line on a ProjectError, and with the
    stage's own status otherwise (1 when `validate` finds bad data), so the step fails.
    """
    root = Path.cwd()
    try:
        document = read_document(root / DEFAULT_PARAMS_FILE)
        for key, value in parameters.items():
            *parents, leaf = key.split(".")
            node = document
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = json.loads(value) if key in SECTIONS else value
        params = params_from(document, Path("pipeline parameters"), root)
        paths = {name: Path(artifact.path) for name, artifact in artifacts.items()}
        params = replace(params, paths=replace(params.paths, **paths))
        if stage not in STAGES:
            raise ProjectError(
                f"{stage!r} is not a stage of the pipeline; use one of {', '.join(STAGES)}"
            )
        status = load(stage).run(params)
    except ProjectError as error:
        print(f"error: {error}", flush=True)
        raise SystemExit(2) from None
    if status:
        raise SystemExit(int(status))


def read_json(path: str) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))
