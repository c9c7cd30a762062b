"""The baked README's "Bring your own data", followed literally on a real public data
set that a package ships (the Palmer penguins: three species, missing values, text
columns), ends with the project's own checks green: pytest, pre-commit, mlops check."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from .conftest import bake

pytestmark = pytest.mark.slow


def penguins_csv() -> Path:
    """penguins.csv as the palmerpenguins package ships it (requirements-dev.txt)."""
    spec = importlib.util.find_spec("palmerpenguins")
    assert spec is not None and spec.origin, "palmerpenguins is not installed: run `make install`"
    return Path(spec.origin).parent / "data" / "penguins.csv"


# The baked README's "Use the production model from Python", on the DVC-tracked model.
PREDICT_ON_THE_CSV = """
import mlflow.pyfunc
import pandas as pd

model = mlflow.pyfunc.load_model("models/model")
frame = pd.read_csv("data/input/penguins.csv")
predictions = model.predict(frame)
print(frame["year"].dtype, len(predictions), predictions[0])
"""


def test_own_data_steps_of_the_readme_end_green(tmp_path_factory, project_env):
    project = bake(tmp_path_factory.mktemp("own-data"))
    project_env.install(project)
    env = {"CI": "", "PRE_COMMIT_HOME": str(tmp_path_factory.mktemp("pre-commit-home"))}

    def sh(*args: str, check: bool = True):
        return project_env.run(list(args), cwd=project, check=check, **env)

    # Step 1: copy the file into data/input/ and let DVC track it.
    shutil.copy(penguins_csv(), project / "data" / "input" / "penguins.csv")
    sh("dvc", "add", "data/input/penguins.csv")
    sh("git", "add", "data/input/penguins.csv.dvc", "data/input/.gitignore")

    # Step 2: source, target and a suite name of its own (three classes: positive_class null).
    path = project / "params.yaml"
    params = path.read_text(encoding="utf-8")
    for old, new in (
        ("source: sklearn:breast_cancer", "source: data/input/penguins.csv"),
        ("target: target", "target: species"),
        ("suite: breast_cancer", "suite: penguins"),
    ):
        assert old in params
        params = params.replace(old, new)
    path.write_text(params, encoding="utf-8")

    # Step 3: draft the suite.
    sh("mlops", "suggest-suite")

    # Step 4: run the pipeline and commit what the README lists.
    sh("dvc", "repro")
    features = json.loads((project / "data" / "features.json").read_text(encoding="utf-8"))
    assert features["target"] == "species"
    assert {"island", "sex"} <= set(features["categorical"])
    metrics = json.loads((project / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["accuracy"] > 0.9
    sh("git", "add", "gx/expectations/penguins.json", "params.yaml", "dvc.lock", "metrics.json")
    sh("git", "add", "data/features.json", "reports", "models/train_run.json")
    sh(
        "git", "add", "data/.gitignore", "data/raw/.gitignore", "data/split/.gitignore",
        "models/.gitignore",
    )  # fmt: skip
    sh("git", "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "own data")
    assert sh("git", "status", "--porcelain").stdout == "", "the README's list left files out"

    # The README's Python use of the model, on the CSV as pandas reads it (`year` is int64).
    predicted = sh("python", "-c", PREDICT_ON_THE_CSV)
    assert predicted.stdout.split() == ["int64", "344", "Adelie"], predicted.stdout

    # The project's own checks, as the checks workflow runs them.
    tests = sh("pytest", "-q", "-p", "no:cacheprovider", check=False)
    assert tests.returncode == 0, tests.stdout[-6000:]
    hooks = sh("pre-commit", "run", "--all-files", check=False)
    assert hooks.returncode == 0, hooks.stdout[-6000:]
    check = sh("mlops", "check", check=False)
    assert check.returncode == 0, check.stdout[-4000:] + check.stderr[-2000:]
