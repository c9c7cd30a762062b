"""Bake a project with the default answers and run its pipeline end to end, offline.

Usage: `make demo` (or `.venv/bin/python scripts/demo.py [--task regression] [--into DIR]`).
The project lands in ./demo/ by default, with its own .venv, so you can keep
exploring it afterwards: cd into it and try `uv run dvc repro` or `uv run mlflow ui`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
QUIET_ENV = {
    "DVC_NO_ANALYTICS": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "UV_PYTHON_DOWNLOADS": "never",
}


def step(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["classification", "regression"], default=None)
    parser.add_argument(
        "--into",
        type=Path,
        default=TEMPLATE / "demo",
        help="folder to bake into; emptied first (default: %(default)s)",
    )
    args = parser.parse_args()
    uv = shutil.which("uv")
    if uv is None:
        sys.exit("uv is not on PATH; run this through `make demo`, which installs it")

    started = time.monotonic()
    if args.into.exists():
        shutil.rmtree(args.into)
    args.into.mkdir(parents=True)
    step(f"baking the template with its default answers into {args.into}")
    answers = {"task": args.task} if args.task else {}
    project = Path(
        cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(args.into), extra_context=answers)
    )
    env = {**os.environ, **QUIET_ENV}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("VIRTUAL_ENV", None)
    # Use the interpreter running this script unless the user picked one.
    env.setdefault("UV_PYTHON", sys.executable)

    def run(*command: str) -> None:
        print(f"$ {' '.join(command)}", flush=True)
        subprocess.run(command, cwd=project, env=env, check=True)

    step("installing the project from its lock (uv sync --locked)")
    run(uv, "sync", "--locked")
    step("running the pipeline (dvc repro)")
    run(uv, "run", "--no-sync", "dvc", "repro")

    metrics = json.loads((project / "metrics.json").read_text())
    run_id = json.loads((project / "models" / "train_run.json").read_text())["run_id"]
    step(f"done in {time.monotonic() - started:.0f} s")
    print("Test-set metrics (metrics.json):")
    for name, value in metrics.items():
        print(f"  {name:<10} {value:.4f}")
    print(f"\nMLflow run {run_id} is in {project / 'mlflow.db'}; browse it with")
    print(f"  cd {project} && uv run mlflow ui --backend-store-uri sqlite:///mlflow.db")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as error:
        sys.exit(f"demo failed: `{' '.join(map(str, error.cmd))}` exited {error.returncode}")
